import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { roleCredential } from '@rowshard/transport';
import { GenericContainer, Network, type StartedNetwork, type StartedTestContainer, Wait } from 'testcontainers';
import { afterAll, describe, expect, it } from 'vitest';
import { noEngineReason, run, testImage } from './containers.js';

/**
 * The image of deploy/Dockerfile run as a real cluster with testcontainers: a coordinator,
 * 2 PS and a trainer, each a container on one network, the coordinator and the shards
 * sharing one volume at /checkpoints, to the `done` event; then `rowshard export` in a
 * container reads the last checkpoint back from that volume. Without a shared volume (each
 * container its own /checkpoints) the job stops at start and says what to mount. Runs where
 * a Docker engine is reachable (.ci/run starts one); elsewhere it skips and says why.
 */
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true'; // the reaper's image cannot be pulled here; afterAll cleans up
const reason = noEngineReason();
if (reason) console.warn(`testcontainers test skipped: ${reason}`);

const VOCAB = 2000;
const DIM = 8;
const job = `seed: 0
model: { name: text_classifier, options: { vocabSize: ${VOCAB}, embeddingDim: ${DIM}, hiddenDim: 8, numClasses: 3, dropout: 0 } }
optimizers: { embeddings: { kind: sparse_adam, lr: 0.05 }, dense: { kind: adam, lr: 0.01 } }
steps: 40
batchSize: 32
data: { kind: synthetic_text, vocabSize: ${VOCAB}, seqLen: 12, numClasses: 3, seed: 1 }
cluster: { ps: 2, trainers: 1, workersPerTrainer: 2 }
checkpoint: { dir: /checkpoints, everySteps: 20 }
`;
const token = randomBytes(24).toString('hex');
const MINUTE = 60_000;

/** Resolves with the first line of `stream` that matches, or rejects after `ms` with what it said. */
function lineMatching(stream: Readable, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`nothing matched ${pattern} in ${ms} ms; it said: ${text.slice(-3000)}`)),
      ms,
    );
    stream.on('data', (d: Buffer) => {
      text += d.toString();
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line.slice(line.indexOf('{')));
      }
    });
  });
}

describe.skipIf(reason !== null)('the Docker image (testcontainers)', () => {
  const started: StartedTestContainer[] = [];
  const networks: StartedNetwork[] = [];
  const volumes: string[] = [];
  afterAll(async () => {
    await Promise.all(started.map((c) => c.stop({ remove: true, removeVolumes: true }).catch(() => {})));
    await Promise.all(networks.map((n) => n.stop().catch(() => {})));
    for (const v of volumes) await run('docker', ['volume', 'rm', '-f', v]).catch(() => {});
  }, 5 * MINUTE);

  /** A coordinator and 2 PS on a network of their own; `volume` (if any) at /checkpoints in each. */
  async function cluster(image: string, volume: string | null) {
    const network = await new Network().start();
    networks.push(network);
    const mounts = volume ? [{ source: volume, target: '/checkpoints' }] : [];
    const coordinator = await new GenericContainer(image)
      .withNetwork(network)
      .withNetworkAliases('coordinator')
      .withEnvironment({ ROWSHARD_TOKEN: token, ROWSHARD_HOST: '0.0.0.0', ROWSHARD_PORT: '7070' })
      .withCopyContentToContainer([{ content: job, target: '/data/job.yaml' }])
      .withBindMounts(mounts)
      .withCommand(['coordinator', '--config', '/data/job.yaml'])
      .withWaitStrategy(Wait.forLogMessage(/"event":"listening"/))
      .withStartupTimeout(2 * MINUTE)
      .start();
    started.push(coordinator);
    const logs = await coordinator.logs();
    const ps = new GenericContainer(image)
      .withNetwork(network)
      .withEnvironment({
        ROWSHARD_TOKEN: token,
        ROWSHARD_COORDINATOR: 'ws://coordinator:7070',
        ROWSHARD_HOST: '0.0.0.0',
        ROWSHARD_PORT: '7080',
        ROWSHARD_ADVERTISE: 'auto',
        ROWSHARD_CHECKPOINT_ROOT: '/checkpoints',
      })
      .withBindMounts(mounts)
      .withCommand(['ps']);
    return { network, coordinator, logs, ps };
  }

  it(
    'builds, runs coordinator + 2 PS + 1 trainer on a shared volume to completion, and exports the checkpoint in a container',
    async () => {
      const image = await testImage();
      const volume = `rowshard-tc-${randomBytes(4).toString('hex')}`;
      await run('docker', ['volume', 'create', volume]);
      volumes.push(volume);
      const { network, coordinator, logs, ps } = await cluster(image, volume);
      const done = lineMatching(logs, /"event":"done"/, 5 * MINUTE);
      done.catch(() => {});
      for (let i = 0; i < 2; i++) {
        started.push(
          await ps
            .withWaitStrategy(Wait.forLogMessage(/"event":"listening"/))
            .withStartupTimeout(2 * MINUTE)
            .start(),
        );
      }
      started.push(
        await new GenericContainer(image)
          .withNetwork(network)
          // A trainer holds only its role credential, as deploy/compose.yaml arranges.
          .withEnvironment({
            ROWSHARD_ROLE_TOKEN: roleCredential(token, 'trainer'),
            ROWSHARD_COORDINATOR: 'ws://coordinator:7070',
          })
          .withCommand(['trainer'])
          .withWaitStrategy(Wait.forLogMessage(/"event":"listening"/))
          .withStartupTimeout(2 * MINUTE)
          .start(),
      );
      const summary = JSON.parse(await done);
      expect(summary).toMatchObject({
        event: 'done',
        steps: 40,
        checkpointsWritten: 2,
        checkpointsFailed: 0,
        lastCheckpointStep: 40,
      });
      await coordinator.stop();

      // The table read back from the shared volume by `rowshard export`, in a container of its own.
      const exporter = await new GenericContainer(image)
        .withBindMounts([{ source: volume, target: '/checkpoints' }])
        .withEntrypoint(['sleep', 'infinity'])
        .start();
      started.push(exporter);
      const exported = await exporter.exec([
        'node',
        '/app/bundle/rowshard.js',
        'export',
        '/checkpoints',
        '--table',
        'embedding',
        '--format',
        'npy',
        '--out',
        '/checkpoints/embedding.npy',
      ]);
      expect(exported.exitCode, exported.output).toBe(0);
      const event = JSON.parse(exported.stdout.trim().split('\n').at(-1) as string);
      expect(event).toMatchObject({ event: 'exported', table: 'embedding', rows: VOCAB, dim: DIM, step: 40 });
      const npy = await fileFromContainer(exporter, '/checkpoints/embedding.npy');
      const headerLength = npy.readUInt16LE(8);
      expect(npy.subarray(10, 10 + headerLength).toString('latin1')).toContain(`'shape': (${VOCAB}, ${DIM})`);
      const rows = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + headerLength, npy.byteOffset + npy.length));
      expect(rows.length).toBe(VOCAB * DIM);
      expect(rows.every(Number.isFinite)).toBe(true);
    },
    15 * MINUTE,
  );

  it(
    'without a shared volume the job stops at start, naming the shards and what to mount',
    async () => {
      const image = await testImage();
      const { coordinator, logs, ps } = await cluster(image, null);
      const stopped = lineMatching(logs, /"event":"stopped"/, 3 * MINUTE);
      stopped.catch(() => {});
      const shards = await Promise.all(
        [0, 1].map(() =>
          ps
            .withWaitStrategy(Wait.forLogMessage(/E_STORAGE_NOT_SHARED/))
            .withStartupTimeout(2 * MINUTE)
            .start(),
        ),
      );
      started.push(...shards);
      const event = JSON.parse(await stopped);
      expect(event.code).toBe('E_STORAGE_NOT_SHARED');
      expect(event.reason).toMatch(
        /^checkpoint storage is not shared: the coordinator and the parameter servers of shard 0 \(.+\), shard 1 \(.+\) do not see the same checkpoint directory \/checkpoints/,
      );
      expect(event.reason).toContain(
        "Shard 0: /checkpoints/.rowshard-storage, which the coordinator has just written, does not exist on this parameter server: its /checkpoints is another directory than the coordinator's",
      );
      expect(event.reason).toContain(
        'Mount one shared volume or file system at /checkpoints in the coordinator and in every parameter server',
      );
      expect(event.reason).not.toMatch(/E_INTERNAL|internal error/);
      // The coordinator and the refused shards exit 2 (a configuration error, as at any start-up refusal).
      for (const c of [...shards, coordinator]) expect(await exitOf(c)).toBe('exited 2');
    },
    15 * MINUTE,
  );
});

/** A container's state and exit code once it has exited (or after a minute, as it is then). */
async function exitOf(container: StartedTestContainer): Promise<string> {
  const state = () => run('docker', ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', container.getId()]);
  for (let i = 0; i < 120; i++) {
    const now = (await state()).trim();
    if (!now.startsWith('running')) return now;
    await new Promise((r) => setTimeout(r, 500));
  }
  return (await state()).trim();
}

/** One file out of a container (docker's tar stream, a single entry). */
async function fileFromContainer(container: StartedTestContainer, path: string): Promise<Buffer> {
  const stream = await container.copyArchiveFromContainer(path);
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  const tar = Buffer.concat(chunks);
  const size = Number.parseInt(tar.subarray(124, 136).toString('latin1').replace(/\0.*$/, '').trim(), 8);
  return tar.subarray(512, 512 + size);
}
