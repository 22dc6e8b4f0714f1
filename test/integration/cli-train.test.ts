import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainOptions } from '@rowshard/cli/config-options';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const dir = mkdtempSync(join(tmpdir(), 'rowshard-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: dir, timeout: 120_000 });

const smallJob = `# a small job
seed: 1
model:
  name: text_classifier
  options: { vocabSize: 3000, embeddingDim: 8, hiddenDim: 8, numClasses: 3, dropout: 0 }
optimizers:
  embeddings: { kind: sparse_adam, lr: 0.05 }
  dense: { kind: adam, lr: 0.01 }
steps: 40
batchSize: 64
data: { kind: synthetic_text, vocabSize: 3000, seqLen: 12, numClasses: 3, seed: 1 }
eval:
  data: { kind: synthetic_text, vocabSize: 3000, seqLen: 12, numClasses: 3, seed: 2 }
  everySteps: 20
  batches: 2
cluster: { ps: 2, trainers: 1, workersPerTrainer: 2 }
logEverySteps: 10
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `rowshard train --json` on a job too long to finish, started in the background: the pids of
 * its processes as they say they are listening, and a promise of its first progress line;
 * `onEvent` sees each event line as it comes.
 */
function startLongJob(name: string, onEvent: (e: Record<string, unknown>, child: ChildProcess) => void = () => {}) {
  const file = join(dir, name);
  writeFileSync(file, smallJob.replace('steps: 40', 'steps: 100000'));
  const child = spawn(process.execPath, [cli, 'train', '--config', file, '--json'], { cwd: dir });
  const pids: number[] = [];
  let out = '';
  const progressed = new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) {
        try {
          const e = JSON.parse(line);
          if (e.event === 'listening' && !pids.includes(e.pid)) pids.push(e.pid);
          if (e.event === 'progress') resolve();
          onEvent(e, child);
        } catch {}
      }
    });
  });
  return { child, pids, progressed };
}

describe('rowshard train', () => {
  it('runs a YAML job to the end, writes the metrics file, and leaves no process behind', () => {
    const file = join(dir, 'job.yaml');
    writeFileSync(file, smallJob);
    const metrics = join(dir, 'metrics.jsonl');
    const r = run(['train', '--config', file, '--json', '--metrics', metrics, '--dashboard']);
    expect(r.status, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const pids = events.filter((e) => e.event === 'listening').map((e) => e.pid as number);
    expect(pids).toHaveLength(4); // coordinator, 2 PS, 1 trainer
    // The dashboard's address comes with what to sign in with: a viewer credential, not the token.
    expect(events.find((e) => e.role === 'coordinator' && e.event === 'listening')).toMatchObject({
      dashboard: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
      signIn: expect.stringMatching(/^viewer\.[0-9a-f]{64}$/),
    });
    const summary = events.find((e) => e.event === 'summary');
    expect(summary.steps).toBe(40);
    expect(summary.evals.at(-1).accuracy).toBeGreaterThan(0.5); // 3 classes: chance is 1/3
    const lines = readFileSync(metrics, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.event === 'progress').map((l) => l.step)).toEqual([10, 20, 30, 40]);
    expect(lines.filter((l) => l.event === 'eval').map((l) => l.step)).toEqual([20, 40]);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('ROWSHARD_CPU_PROF_DIR gets a CPU profile of the coordinator, each shard and each worker thread', () => {
    const file = join(dir, 'job-profiled.yaml');
    writeFileSync(file, smallJob.replace('steps: 40', 'steps: 10'));
    const profiles = mkdtempSync(join(dir, 'profiles-'));
    const r = run(['train', '--config', file], { ROWSHARD_CPU_PROF_DIR: profiles });
    expect(r.status, r.stderr).toBe(0);
    // The trainer's main thread writes one only when it exits before the launcher's signal reaches it.
    const names = readdirSync(profiles).filter((n) => n !== 'trainer-0.cpuprofile');
    expect(names.sort()).toEqual([
      'coordinator.cpuprofile',
      'ps-0.cpuprofile',
      'ps-1.cpuprofile',
      'worker-0.cpuprofile',
      'worker-1.cpuprofile',
    ]);
    // Each is a V8 profile with samples of that process's own code (the bundle's: functions
    // keep their names there, files do not).
    const shard = JSON.parse(readFileSync(join(profiles, 'ps-0.cpuprofile'), 'utf8'));
    expect(shard.samples.length).toBeGreaterThan(0);
    const frames = (shard.nodes as { callFrame: { url: string; functionName: string } }[]).map((n) => n.callFrame);
    expect(frames.some((f) => f.functionName === 'runPsProcess' && f.url.includes('/packages/cli/bundle/'))).toBe(true);
  });

  it('Ctrl-C stops every process', async () => {
    const { child, pids, progressed } = startLongJob('long.yaml');
    await progressed;
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    expect(pids.length).toBe(4);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('SIGTERM while the processes are starting stops the run too (it used to be lost, and the run went on)', async () => {
    let sent = false;
    const { child, pids } = startLongJob('long-start.yaml', (e, job) => {
      // The first process up: the others are still starting.
      if (e.event === 'listening' && !sent) {
        sent = true;
        job.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    expect(pids.length).toBeGreaterThanOrEqual(1);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('a launcher killed with SIGKILL takes every process with it', async () => {
    const { child, pids, progressed } = startLongJob('long-killed.yaml');
    await progressed;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(pids.length).toBe(4);
    // Each sees its stdin end and shuts down: give them the time a loaded machine takes.
    for (let waited = 0; pids.some(alive) && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it.each([
    [
      'unknown field',
      smallJob.replace('batchSize: 64', 'batchSize: 64\nbatchsize: 3'),
      /job-bad\.yaml:11: batchsize: unknown field/,
    ],
    [
      'wrong type',
      smallJob.replace('steps: 40', 'steps: forty'),
      /job-bad\.yaml:9: steps: must be a positive integer, got "forty"/,
    ],
    ['nested wrong value', smallJob.replace('lr: 0.01', 'lr: -1'), /job-bad\.yaml:8: optimizers\.dense\.lr: must be in \[0/],
    ['YAML syntax', smallJob.replace('steps: 40', 'steps: [40'), /job-bad\.yaml:\d+: not valid YAML\/JSON/],
    [
      'missing data file',
      smallJob.replace(
        'data: { kind: synthetic_text, vocabSize: 3000, seqLen: 12, numClasses: 3, seed: 1 }',
        'data: { kind: fixture, path: nowhere.json }',
      ),
      /job-bad\.yaml:11: data\.path: no such file .*nowhere\.json/,
    ],
  ])('refuses a config with a %s, naming file, line and field, exit 2, nothing written', (_what, text, message) => {
    const file = join(dir, 'job-bad.yaml');
    writeFileSync(file, text.replace('cluster:', 'checkpoint: { dir: ckpt-never }\ncluster:'));
    const metrics = join(dir, 'never.jsonl');
    const r = run(['train', '--config', file, '--metrics', metrics]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(metrics)).toBe(false);
    expect(existsSync(join(dir, 'ckpt-never'))).toBe(false);
  });

  it('a checkpoint of another job (other dims) stops the run before any process starts, exit 2, naming the table and both values', () => {
    const ckpt = join(dir, 'other-job-checkpoints');
    const small = `${smallJob.replace('steps: 40', 'steps: 6').replace(/eval:[\s\S]*?batches: 2\n/, '')}checkpoint: { dir: ${ckpt} }\n`;
    const file = join(dir, 'dim8.yaml');
    writeFileSync(file, small);
    const first = run(['train', '--config', file, '--quiet']);
    expect(first.status, first.stderr).toBe(0);
    const wider = join(dir, 'dim16.yaml');
    writeFileSync(wider, small.replace('embeddingDim: 8', 'embeddingDim: 16'));
    const r = run(['train', '--config', wider, '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_BAD_CHECKPOINT');
    expect(r.stderr).toContain("was written by a different job: table 'embedding' has embeddingDim 8 there and 16 in this job");
    // Nothing was started: no process announced itself.
    expect(r.stdout).not.toContain('"listening"');
  });

  it('names the flag or the environment variable a bad value came from', () => {
    const file = join(dir, 'job.yaml');
    expect(run(['train', '--config', file, '--steps', 'x']).stderr).toMatch(/--steps: must be a positive integer, got "x"/);
    expect(run(['train', '--config', file], { ROWSHARD_SYNC: 'fast' }).stderr).toMatch(
      /ROWSHARD_SYNC: must be one of bsp, ssp, asp/,
    );
    expect(run(['train', '--config', join(dir, 'absent.yaml')]).stderr).toMatch(/absent\.yaml: no such config file/);
  });

  it.each([
    ['ps', ['--coordinator', 'ws://127.0.0.1:1', '--shard', 'x'], {}, /--shard: must be a non-negative integer, got "x"/],
    ['trainer', [], { ROWSHARD_COORDINATOR: 'ws://127.0.0.1:1', ROWSHARD_WORKERS: '0' }, /ROWSHARD_WORKERS: must be a positive/],
    ['coordinator', ['--job', 'job.json', '--port', '70000'], {}, /--port: must be a port, an integer in 0\.\.65535/],
  ])('`rowshard %s` and the role process refuse the same bad value before connecting', (role, argv, env, message) => {
    // The CLI's coordinator reads a YAML job with --config; its own main.ts a JSON one with --job.
    const cliArgv = role === 'coordinator' ? ['--config', join(dir, 'job.yaml'), ...argv.slice(2)] : argv;
    const viaCli = run([role, ...cliArgv], env);
    const direct = spawnSync(process.execPath, [join(repoRoot, `packages/${role}/dist/main.js`), ...argv], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    for (const r of [viaCli, direct]) {
      expect(r.stderr).toMatch(message);
      expect(r.status).not.toBe(0);
    }
  });

  it('the README reference table lists every option with its flag and environment variable', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    for (const o of trainOptions) {
      expect(readme, o.flag).toContain(`\`--${o.flag}\``);
      expect(readme, o.env).toContain(`\`${o.env}\``);
    }
  });
});
