import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { roleCredential } from '@rowshard/transport';
import { GenericContainer, getContainerRuntimeClient, Network, type StartedTestContainer, Wait } from 'testcontainers';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The image of deploy/Dockerfile, built and run as a real cluster: a coordinator, 2 PS and a
 * trainer, each a container on one network, to the end of a small job. Runs where a Docker
 * engine is reachable; elsewhere it skips and says why.
 */
let reason: string | null = null;
try {
  await getContainerRuntimeClient();
} catch (e) {
  reason = `no container runtime reachable (${(e as Error).message.split('\n')[0]})`;
}
if (reason) console.warn(`testcontainers test skipped: ${reason}`);

const job = `seed: 0
model: { name: text_classifier, options: { vocabSize: 2000, embeddingDim: 8, hiddenDim: 8, numClasses: 3, dropout: 0 } }
optimizers: { embeddings: { kind: sparse_adam, lr: 0.05 }, dense: { kind: adam, lr: 0.01 } }
steps: 40
batchSize: 32
data: { kind: synthetic_text, vocabSize: 2000, seqLen: 12, numClasses: 3, seed: 1 }
cluster: { ps: 2, trainers: 1, workersPerTrainer: 2 }
checkpoint: { dir: /checkpoints, everySteps: 20 }
`;

describe.skipIf(reason !== null)('the Docker image (testcontainers)', () => {
  const started: StartedTestContainer[] = [];
  afterAll(async () => {
    await Promise.all(started.map((c) => c.stop()));
  });

  it('builds, and runs coordinator + 2 PS + 1 trainer to completion', async () => {
    const image = await GenericContainer.fromDockerfile(repoRoot, join('deploy', 'Dockerfile')).build('rowshard-test:latest', {
      deleteOnExit: false,
    });
    const network = await new Network().start();
    const token = 'container-cluster-token-0123456789';
    const env = { ROWSHARD_TOKEN: token };
    const coordinator = await image
      .withNetwork(network)
      .withNetworkAliases('coordinator')
      .withEnvironment({ ...env, ROWSHARD_HOST: '0.0.0.0', ROWSHARD_PORT: '7070' })
      .withCopyContentToContainer([{ content: job, target: '/data/job.yaml' }])
      .withCommand(['coordinator', '--config', '/data/job.yaml'])
      .withWaitStrategy(Wait.forLogMessage(/"event":"listening"/))
      .start();
    started.push(coordinator);
    for (let i = 0; i < 2; i++) {
      started.push(
        await image
          .withNetwork(network)
          .withEnvironment({
            ...env,
            ROWSHARD_COORDINATOR: 'ws://coordinator:7070',
            ROWSHARD_HOST: '0.0.0.0',
            ROWSHARD_PORT: '7080',
            ROWSHARD_ADVERTISE: 'auto',
          })
          .withCommand(['ps'])
          .withWaitStrategy(Wait.forLogMessage(/"event":"listening"/))
          .start(),
      );
    }
    started.push(
      await image
        .withNetwork(network)
        // A trainer holds only its role credential, as deploy/compose.yaml arranges.
        .withEnvironment({ ROWSHARD_ROLE_TOKEN: roleCredential(token, 'trainer'), ROWSHARD_COORDINATOR: 'ws://coordinator:7070' })
        .withCommand(['trainer'])
        .withWaitStrategy(Wait.forLogMessage(/"event":"listening"/))
        .start(),
    );
    const logs = await coordinator.logs();
    const done = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no done event; coordinator said: ${text.slice(-2000)}`)), 120_000);
      logs.on('data', (d: Buffer) => {
        text += d.toString();
        const line = text.split('\n').find((l) => l.includes('"event":"done"'));
        if (line) {
          clearTimeout(timer);
          resolve(line);
        }
      });
    });
    expect(JSON.parse(done.slice(done.indexOf('{')))).toMatchObject({ event: 'done', steps: 40 });
  });
});
