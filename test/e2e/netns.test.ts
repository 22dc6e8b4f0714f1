import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster } from '@rowshard/cli';
import { checkpointDirName } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { roleCredential } from '@rowshard/transport';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Several hosts on one machine: the coordinator, 2 PS and 2 trainers each run in a network
 * namespace of their own (ip netns, veth pairs on a bridge), with their own address. A
 * training job completes; then a PS's link is cut mid-run (ip link set ... down): the
 * coordinator must notice, pause, and, once the link returns, restore every shard from the
 * last checkpoint and finish with the tables of an uninterrupted run. Traffic stays on the
 * test's own bridge. Needs root and iproute2; skips with the reason otherwise.
 */
const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');

function canMakeNamespaces(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  const probe = `rsprobe${process.pid % 10000}`;
  const made = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (made.status !== 0) return `ip netns add failed: ${made.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

const reason = canMakeNamespaces();
if (reason) console.warn(`network-namespace test skipped: ${reason}`);

const sh = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
};

describe.skipIf(reason !== null)('rowshard across network namespaces', () => {
  const tag = (process.pid % 9000) + 1000; // short, unique names (interface names are <= 15 chars)
  const subnet = `10.213.${tag % 250}`;
  const bridge = `rsb${tag}`;
  const hosts = ['coord', 'ps0', 'ps1', 'tr0', 'tr1'].map((role, i) => ({
    role,
    ns: `rs${tag}${role}`,
    veth: `rv${tag}${i}`,
    ip: `${subnet}.${10 + i}`,
  }));
  const dir = mkdtempSync(join(tmpdir(), 'rowshard-netns-'));
  const children: ChildProcess[] = [];

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const h of hosts) spawnSync('ip', ['netns', 'del', h.ns]);
    spawnSync('ip', ['link', 'del', bridge]);
    rmSync(dir, { recursive: true, force: true });
  });

  const job = (checkpointDir: string) => ({
    seed: 9,
    model: { name: 'text_classifier', options: { vocabSize: 3000, embeddingDim: 8, hiddenDim: 8, numClasses: 3, dropout: 0.1 } },
    optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
    sync: 'bsp',
    steps: 160,
    batchSize: 32,
    data: { kind: 'synthetic_text', vocabSize: 3000, seqLen: 12, numClasses: 3, seed: 1 },
    cluster: { ps: 2, trainers: 2, workersPerTrainer: 1 },
    checkpoint: { dir: checkpointDir, everySteps: 20 },
    logEverySteps: 5,
    timeouts: { stepMs: 60000, registrationMs: 60000 },
    debug: { slowRanks: { '0': 25 } },
  });

  it('runs a job with each role on its own host, survives a cut link, and ends with the uninterrupted tables', async () => {
    sh('link', 'add', bridge, 'type', 'bridge');
    sh('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    sh('link', 'set', bridge, 'up');
    for (const h of hosts) {
      sh('netns', 'add', h.ns);
      sh('link', 'add', h.veth, 'type', 'veth', 'peer', 'name', `${h.veth}p`);
      sh('link', 'set', `${h.veth}p`, 'netns', h.ns);
      sh('link', 'set', h.veth, 'master', bridge);
      sh('link', 'set', h.veth, 'up');
      sh('netns', 'exec', h.ns, 'ip', 'link', 'set', 'lo', 'up');
      sh('netns', 'exec', h.ns, 'ip', 'link', 'set', `${h.veth}p`, 'name', 'eth0');
      sh('netns', 'exec', h.ns, 'ip', 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
      sh('netns', 'exec', h.ns, 'ip', 'link', 'set', 'eth0', 'up');
    }
    const jobFile = join(dir, 'job.json');
    writeFileSync(jobFile, JSON.stringify(job(join(dir, 'cut'))));
    // As deploy/README.md says: the coordinator and the shards hold the cluster token, trainers
    // only their role credential.
    const token = 'netns-cluster-token-0123456789';
    const env = { ...process.env, ROWSHARD_TOKEN: token };
    const trainerEnv: NodeJS.ProcessEnv = { ...process.env, ROWSHARD_ROLE_TOKEN: roleCredential(token, 'trainer') };
    delete trainerEnv.ROWSHARD_TOKEN;
    const events: Record<string, unknown>[] = [];
    const run = (h: (typeof hosts)[number], args: string[]) => {
      const child = spawn('ip', ['netns', 'exec', h.ns, process.execPath, cli, ...args], {
        env: args[0] === 'trainer' ? trainerEnv : env,
      });
      children.push(child);
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          try {
            events.push({ host: h.role, ...JSON.parse(buf.slice(0, nl)) });
          } catch {}
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
      });
      return child;
    };
    const [coord, ps0, ps1, tr0, tr1] = hosts;
    const coordinatorUrl = `ws://${coord.ip}:7070`;
    run(coord, ['coordinator', '--config', jobFile, '--host', '0.0.0.0', '--port', '7070']);
    const waitFor = async (pred: (e: Record<string, unknown>) => boolean, ms: number, what: string) => {
      const deadline = Date.now() + ms;
      while (!events.some(pred)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return events.find(pred) as Record<string, unknown>;
    };
    await waitFor((e) => e.host === 'coord' && e.event === 'listening', 20_000, 'the coordinator');
    for (const h of [ps0, ps1])
      run(h, [
        'ps',
        '--coordinator',
        coordinatorUrl,
        '--host',
        '0.0.0.0',
        '--port',
        '7080',
        '--advertise',
        h.ip,
        '--checkpoint-root',
        dir, // the checkpoint directory (dir/cut) is under it, shared by every host (one filesystem)
      ]);
    for (const h of [tr0, tr1]) run(h, ['trainer', '--coordinator', coordinatorUrl]);
    const ready = await waitFor((e) => e.host === 'coord' && e.event === 'ready', 30_000, 'all shards');
    expect(ready.shards).toEqual(expect.arrayContaining([`ws://${ps0.ip}:7080`, `ws://${ps1.ip}:7080`]));
    // Cut PS 0's link once training is under way and a checkpoint exists.
    await waitFor((e) => e.event === 'checkpoint' && Number(e.step) >= 40, 60_000, 'a checkpoint at step 40');
    sh('link', 'set', ps0.veth, 'down');
    const cutAt = Date.now();
    await waitFor((e) => e.event === 'recovering', 20_000, 'the coordinator to notice the cut');
    const noticedMs = Date.now() - cutAt;
    await new Promise((r) => setTimeout(r, 3000));
    sh('link', 'set', ps0.veth, 'up');
    const recovered = await waitFor((e) => e.event === 'recovered', 60_000, 'recovery after the link returned');
    await waitFor((e) => e.host === 'coord' && e.event === 'done', 120_000, 'the job to finish');
    // Two heartbeat intervals (2 s each) plus scheduling slack.
    expect(noticedMs).toBeLessThan(8000);
    expect(Number(recovered.step)).toBeGreaterThanOrEqual(40);
    const cut = JSON.parse(readFileSync(join(dir, 'cut', checkpointDirName(160), 'manifest.json'), 'utf8'));

    // The same job without a cut, on loopback: BSP makes the two runs identical.
    const cluster = await startLocalCluster({ job: job(join(dir, 'straight')), ps: 2, trainers: 2, workersPerTrainer: 1 });
    try {
      await cluster.result();
    } finally {
      await cluster.stop();
    }
    const straight = JSON.parse(readFileSync(join(dir, 'straight', checkpointDirName(160), 'manifest.json'), 'utf8'));
    const fingerprint = (m: { shards: { sha256: string }[]; dense: { sha256: string } }) => [
      m.shards.map((s) => s.sha256),
      m.dense.sha256,
    ];
    expect(fingerprint(cut)).toEqual(fingerprint(straight));
  });
});
