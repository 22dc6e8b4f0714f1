import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readFullTable, readManifest } from '@rowshard/cli';
import { checkpointDirName } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Storage faults at checkpoint time, through `rowshard train`: a full disk (a small tmpfs), a
 * read-only one (a read-only bind mount), and a checkpoint directory that cannot be created.
 * A checkpoint that cannot be written is reported and counted, leaves nothing behind, and
 * training goes on: the job ends with exit 0 and, in BSP, the tables of an uninterrupted run.
 * Mounting needs root (and CAP_SYS_ADMIN); elsewhere those cases are skipped, saying why.
 */
const root = mkdtempSync(join(tmpdir(), 'rowshard-storage-'));
const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const mounts: string[] = [];

/** Why the mount cases cannot run here, or null when they can. */
function mountUnavailable(): string | null {
  if (process.platform !== 'linux') return 'mounting a tmpfs needs Linux';
  if (process.getuid?.() !== 0) return 'not root: cannot mount a tmpfs or a read-only bind mount';
  const probe = join(root, 'probe');
  mkdirSync(probe);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `mount failed: ${r.error?.message ?? r.stderr.trim()}`;
  spawnSync('umount', [probe]);
  return null;
}
const mountSkip = mountUnavailable();
if (mountSkip) console.warn(`storage-faults: the tmpfs and read-only mount cases are skipped (${mountSkip})`);

function mount(args: string[], target: string): void {
  mkdirSync(target, { recursive: true });
  const r = spawnSync('mount', [...args, target], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')} ${target}: ${r.stderr}`);
  mounts.push(target);
}

function remount(options: string, target: string): void {
  const r = spawnSync('mount', ['-o', `remount,${options}`, target], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`remount ${options} ${target}: ${r.stderr}`);
}

afterAll(() => {
  // Every process of a run has exited before its test returns; a busy mount falls back to a lazy unmount.
  for (const target of mounts.reverse()) {
    if (spawnSync('umount', [target]).status !== 0) spawnSync('umount', ['-l', target]);
  }
  rmSync(root, { recursive: true, force: true });
});

const VOCAB = 50_000;
const STEPS = 60;
/** Slow rank 0 a little: the test has time to free the disk before the last checkpoint. */
const job = (dir: string, extra: Record<string, unknown> = {}) => ({
  seed: 3,
  model: { name: 'text_classifier', options: { vocabSize: VOCAB, embeddingDim: 8, hiddenDim: 8, numClasses: 3, dropout: 0.1 } },
  optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
  sync: 'bsp',
  steps: STEPS,
  batchSize: 32,
  data: { kind: 'synthetic_text', vocabSize: VOCAB, seqLen: 12, numClasses: 3 },
  checkpoint: { dir, everySteps: 10, keep: 10 },
  cluster: { ps: 2, trainers: 1, workersPerTrainer: 2 },
  logEverySteps: 1,
  debug: { slowRanks: { '0': 10 } },
  ...extra,
});

type Event = Record<string, unknown>;
interface Run {
  readonly code: number | null;
  readonly events: Event[];
  readonly stderr: string;
}

/** `rowshard train --config <file> --json`; `onEvent` sees each event line as it comes. */
function train(name: string, j: Record<string, unknown>, onEvent: (e: Event) => void = () => {}): Promise<Run> {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, JSON.stringify(j));
  const child = spawn(process.execPath, [cli, 'train', '--config', file, '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Event[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e: Event;
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    events.push(e);
    onEvent(e);
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, events, stderr })));
}

const coordinatorEvents = (run: Run, name: string) => run.events.filter((e) => e.role === 'coordinator' && e.event === name);
const failedSteps = (run: Run) => coordinatorEvents(run, 'checkpoint_failed').map((e) => e.step as number);
const writtenSteps = (run: Run) => coordinatorEvents(run, 'checkpoint').map((e) => e.step as number);
const summaryOf = (run: Run) =>
  run.events.find((e) => e.role === 'cli' && e.event === 'summary') as Event & { checkpoints: Event };
const losses = (run: Run) => coordinatorEvents(run, 'progress').map((e) => e.loss);

/** Every `.tmp` file under `dir`. */
function tmpFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));
}

/** The final checkpoint's files, as the checkpoint tests compare runs: bitwise, through their sha256. */
function fingerprint(dir: string, step: number) {
  const m = readManifest(join(dir, checkpointDirName(step)));
  return { shards: m.shards.map((s) => s.sha256), dense: m.dense.sha256 };
}

/**
 * A checkpoint's table and dense state, bitwise. Mid-run shard files differ in which rows are
 * materialised yet (the next step's pull may have touched more), so compare the full table.
 */
function tablesAt(dir: string, step: number) {
  const at = join(dir, checkpointDirName(step));
  const m = readManifest(at);
  const t = readFullTable(at, m, 'embedding');
  return {
    weight: Buffer.from(t.weight.buffer).toString('base64'),
    state: Buffer.from(t.state!.buffer).toString('base64'),
    dense: readFileSync(join(at, m.dense.file)).toString('base64'),
  };
}

function expectFinished(run: Run): void {
  expect(run.code, run.stderr).toBe(0);
  expect(summaryOf(run)?.steps).toBe(STEPS);
}

const reference = join(root, 'reference');
let straight: Run;

beforeAll(async () => {
  straight = await train('reference', job(reference));
  expectFinished(straight);
  expect(writtenSteps(straight)).toEqual([10, 20, 30, 40, 50, 60]);
}, 120_000);

describe('a checkpoint that cannot be written', () => {
  it.each(['bsp', 'asp'])(
    '%s: its directory cannot be created: reported, cleaned up, the job goes on to the end',
    async (sync) => {
      const dir = join(root, `blocked-${sync}`);
      mkdirSync(dir);
      writeFileSync(join(dir, checkpointDirName(20)), 'a file where the checkpoint directory would go');
      const run = await train(`blocked-${sync}`, job(dir, { sync }));
      expectFinished(run);
      expect(failedSteps(run)).toEqual([20]);
      const [failure] = coordinatorEvents(run, 'checkpoint_failed');
      expect(failure).toMatchObject({ code: 'E_CHECKPOINT_WRITE', dir: join(dir, checkpointDirName(20)) });
      expect(failure.reason).toMatch(/^shard \d: writing .*step-00000020.*: EEXIST/);
      expect(summaryOf(run).checkpoints).toEqual({ written: writtenSteps(run).length, failed: 1, lastStep: STEPS, final: true });
      expect(existsSync(join(dir, checkpointDirName(20)))).toBe(false);
      expect(tmpFiles(dir)).toEqual([]);
      if (sync === 'bsp') expect(fingerprint(dir, STEPS)).toEqual(fingerprint(reference, STEPS));
    },
    120_000,
  );
});

describe('a full disk: checkpoints on a 2 MiB tmpfs', () => {
  const disk = join(root, 'tmpfs');
  const dir = join(disk, 'checkpoints');
  const filler = join(disk, 'filler');

  /** Leaves room on the tmpfs for the checkpoints of steps 10 and 20, not for the one of step 30. */
  function fillDisk(): void {
    rmSync(dir, { recursive: true, force: true });
    rmSync(filler, { force: true });
    const bytes = new Map(coordinatorEvents(straight, 'checkpoint').map((e) => [e.step as number, e.bytes as number]));
    const half30 = Math.floor(bytes.get(30)! / 2);
    // Room for page rounding (4 KiB a file) and for shard files that hold a few more rows.
    expect(half30, 'the job has grown too small for this test').toBeGreaterThan(64 * 1024);
    const room = bytes.get(10)! + bytes.get(20)! + half30;
    const { bavail, bsize } = statfsSync(disk);
    writeFileSync(filler, Buffer.alloc(bavail * bsize - room));
  }

  beforeAll(() => {
    if (!mountSkip) mount(['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs'], disk);
  });

  it('space freed mid-run: the failed checkpoints are reported and counted, none leaves a file, the final tables are exact', async (ctx) => {
    ctx.skip(mountSkip !== null, mountSkip ?? '');
    fillDisk();
    const run = await train('tmpfs-freed', job(dir), (e) => {
      if (e.event === 'checkpoint_failed' && existsSync(filler)) unlinkSync(filler);
    });
    expectFinished(run);
    const failed = failedSteps(run);
    expect(failed[0]).toBe(30); // 10 and 20 fit; 30 does not
    expect(failed.every((s) => s >= 30 && s < STEPS)).toBe(true);
    expect(writtenSteps(run).slice(0, 2)).toEqual([10, 20]);
    for (const f of coordinatorEvents(run, 'checkpoint_failed')) {
      expect(f).toMatchObject({ code: 'E_CHECKPOINT_WRITE', reason: expect.stringMatching(/ENOSPC: no space left on device/) });
      expect(existsSync(f.dir as string)).toBe(false);
    }
    expect(summaryOf(run).checkpoints).toEqual({
      written: STEPS / 10 - failed.length,
      failed: failed.length,
      lastStep: STEPS,
      final: true,
    });
    expect(tmpFiles(disk)).toEqual([]);
    expect(fingerprint(dir, STEPS)).toEqual(fingerprint(reference, STEPS));
  }, 120_000);

  it('the disk stays full: every later checkpoint fails, the last one too, and the job still ends with exit 0', async (ctx) => {
    ctx.skip(mountSkip !== null, mountSkip ?? '');
    fillDisk();
    const run = await train('tmpfs-full', job(dir));
    expectFinished(run);
    expect(writtenSteps(run)).toEqual([10, 20]);
    expect(failedSteps(run)).toEqual([30, 40, 50, 60]);
    expect(summaryOf(run).checkpoints).toEqual({ written: 2, failed: 4, lastStep: 20, final: false });
    expect(readdirSync(dir).sort()).toEqual([checkpointDirName(10), checkpointDirName(20)]);
    expect(tmpFiles(disk)).toEqual([]);
    // Training itself was not disturbed: every step's loss, and the checkpoints that were written.
    expect(losses(run)).toEqual(losses(straight));
    for (const step of [10, 20]) expect(tablesAt(dir, step)).toEqual(tablesAt(reference, step));
  }, 120_000);
});

describe('a read-only disk: checkpoints on a read-only bind mount', () => {
  const source = join(root, 'ro-source');
  const disk = join(root, 'ro');
  const dir = join(disk, 'checkpoints');

  beforeAll(() => {
    if (mountSkip) return;
    mkdirSync(source);
    mount(['--bind', source], disk);
    remount('ro,bind', disk);
  });

  it('made writable mid-run: the failed checkpoints are reported and counted, and the final tables are exact', async (ctx) => {
    ctx.skip(mountSkip !== null, mountSkip ?? '');
    let writable = false;
    const run = await train('read-only', job(dir), (e) => {
      if (e.event === 'checkpoint_failed' && !writable) {
        writable = true; // after the first failure the disk comes back
        remount('rw,bind', disk);
      }
    });
    expect(writable).toBe(true);
    expectFinished(run);
    const failed = failedSteps(run);
    expect(failed[0]).toBe(10);
    for (const f of coordinatorEvents(run, 'checkpoint_failed')) {
      expect(f).toMatchObject({ code: 'E_CHECKPOINT_WRITE', reason: expect.stringMatching(/EROFS: read-only file system/) });
    }
    expect(summaryOf(run).checkpoints).toEqual({
      written: STEPS / 10 - failed.length,
      failed: failed.length,
      lastStep: STEPS,
      final: true,
    });
    expect(tmpFiles(disk)).toEqual([]);
    expect(fingerprint(dir, STEPS)).toEqual(fingerprint(reference, STEPS));
  }, 120_000);
});

describe('a skipped checkpoint is reported', () => {
  it('an unreadable newest manifest: the resume names the checkpoint and the reason, and falls back to the one before', async () => {
    const dir = join(root, 'corrupt');
    cpSync(reference, dir, { recursive: true });
    writeFileSync(join(dir, checkpointDirName(STEPS), 'manifest.json'), '{"format": "rowshard-checkpoint/1", "step": ');
    const run = await train('corrupt', job(dir));
    expectFinished(run);
    const skipped = coordinatorEvents(run, 'checkpoint_skipped');
    expect(skipped).toEqual([
      expect.objectContaining({
        name: checkpointDirName(STEPS),
        dir: join(dir, checkpointDirName(STEPS)),
        reason: expect.stringMatching(/manifest\.json: unreadable \(.*JSON/),
      }),
    ]);
    const resume = coordinatorEvents(run, 'resume');
    expect(resume).toEqual([expect.objectContaining({ step: 50 })]);
    expect(run.events.indexOf(skipped[0])).toBeLessThan(run.events.indexOf(resume[0]));
    expect(fingerprint(dir, STEPS)).toEqual(fingerprint(reference, STEPS));
  }, 120_000);
});
