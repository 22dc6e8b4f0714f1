import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoleStandby, startLocalCluster } from '@rowshard/cli';
import { describe, expect, it } from 'vitest';
import { parkMiller, rowshardCli, scratchDir } from './fasttext-kit.js';

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : once(child, 'exit').then(([code]) => code as number | null);

const smallJob = {
  seed: 2,
  model: { name: 'text_classifier', options: { vocabSize: 300, embeddingDim: 4, hiddenDim: 4, numClasses: 2 } },
  optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
  sync: 'bsp',
  steps: 6,
  batchSize: 16,
  data: { kind: 'synthetic_text', vocabSize: 300, seqLen: 6, numClasses: 2, seed: 3 },
};

/** The pids of the live processes whose environment holds `mark` (a command's whole tree). */
function processesMarked(mark: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(mark)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

async function noneLeft(mark: string): Promise<number[]> {
  // Each sees its stdin end and exits: give them the time a loaded machine takes.
  for (let waited = 0; processesMarked(mark).length > 0 && waited < 20_000; waited += 100)
    await new Promise((r) => setTimeout(r, 100));
  return processesMarked(mark);
}

/** A fastText-format corpus of `lines` lines (four labels, planted words among noise). */
function corpus(lines: number): string {
  const rand = parkMiller(5);
  const out: string[] = [];
  for (let i = 0; i < lines; i++)
    out.push(`__label__c${i % 4} ${Array.from({ length: 10 }, () => `w${rand(5000)}`).join(' ')} p${i % 4}`);
  return `${out.join('\n')}\n`;
}

/**
 * Processes started ahead of their job (what `rowshard train` and `supervised` do during their
 * data pass): the cluster takes the ones its shape needs, spawns what is missing, and the ones
 * it does not take exit quietly once the standby lets them go.
 */
describe('RoleStandby', () => {
  it('a cluster runs on the processes started ahead; one it does not need exits 0', async () => {
    const standby = new RoleStandby();
    // The trainer starts two threads while it waits; the cluster asks for one, so it starts over with one.
    standby.startFor({ ps: 2, trainers: 1, workersPerTrainer: 2 });
    expect(standby.children).toHaveLength(4); // coordinator, 2 PS, 1 trainer
    const done: Record<string, unknown>[] = [];
    let bothDone: () => void = () => {};
    const trainersDone = new Promise<void>((resolve) => {
      bothDone = resolve;
    });
    const cluster = await startLocalCluster({
      onEvent: (role, e) => {
        if (role.startsWith('trainer') && e.event === 'done' && done.push(e) === 2) bothDone();
      },
      job: smallJob,
      // One shard and two trainers: the second shard is not taken, the second trainer is spawned.
      ps: 1,
      trainers: 2,
      workersPerTrainer: 1,
      standby,
    });
    try {
      const [coordinator, ps0, ps1, trainer0] = standby.children;
      expect(cluster.coordinator.child).toBe(coordinator);
      expect(cluster.ps.map((p) => p.child)).toEqual([ps0]);
      expect(cluster.trainers.map((p) => p.child)).toContain(trainer0);
      expect(cluster.trainers.filter((p) => !standby.children.includes(p.child))).toHaveLength(1);
      standby.close();
      expect(await exited(ps1)).toBe(0);
      const result = await cluster.result();
      expect(result.steps).toBe(6);
      await trainersDone;
      expect(done.map((e) => (e.workers as unknown[]).length)).toEqual([1, 1]);
    } finally {
      standby.close();
      await cluster.stop();
    }
  });

  it('processes started for a job that does not run exit 0 when let go', async () => {
    const standby = new RoleStandby();
    standby.startFor({ ps: 1, trainers: 1 });
    standby.startFor({ ps: 3 }); // only the first call starts anything
    expect(standby.children).toHaveLength(3);
    standby.close();
    expect(await Promise.all(standby.children.map(exited))).toEqual([0, 0, 0]);
  });

  it('starts none of a role whose size is not a small positive integer', () => {
    const standby = new RoleStandby();
    standby.startFor({ ps: 'two', trainers: 0 });
    try {
      expect(standby.children).toHaveLength(1); // the coordinator
    } finally {
      standby.close();
    }
  });

  it('one killed while it waited is replaced, and the job runs', async () => {
    const standby = new RoleStandby();
    standby.startFor({ ps: 1, trainers: 1 });
    const [coordinator] = standby.children;
    // Killed in the same tick as it is taken: it looks alive (not yet reaped) when the cluster takes it.
    coordinator.kill('SIGKILL');
    const cluster = await startLocalCluster({ job: smallJob, ps: 1, trainers: 1, workersPerTrainer: 1, standby });
    try {
      expect(cluster.coordinator.child).not.toBe(coordinator);
      expect((await cluster.result()).steps).toBe(6);
    } finally {
      standby.close();
      await cluster.stop();
    }
  });

  it('a command that fails after its processes started exits at once, and they exit too', async () => {
    const dir = scratchDir('rowshard-standby-');
    writeFileSync(join(dir, 'train.txt'), corpus(200));
    writeFileSync(join(dir, 'afile'), 'not a directory\n');
    const mark = `ROWSHARD_TEST_MARK=${randomBytes(8).toString('hex')}`;
    const [name, value] = mark.split('=');
    // The output's directory cannot be made (a file is in the way): found after the dictionary pass.
    const r = spawnSync(process.execPath, [rowshardCli, 'supervised', '-input', 'train.txt', '-output', 'afile/model'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, [name]: value },
      timeout: 60_000,
    });
    expect(r.signal, 'the command hung').toBeNull();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ENOTDIR/);
    expect(await noneLeft(mark)).toEqual([]);
  });

  it('a launcher killed during its data pass takes the processes it started with it', async () => {
    const dir = scratchDir('rowshard-standby-');
    // Long enough a dictionary pass to be killed in.
    writeFileSync(join(dir, 'big.txt'), corpus(300_000));
    const mark = `ROWSHARD_TEST_MARK=${randomBytes(8).toString('hex')}`;
    const [name, value] = mark.split('=');
    const cli = spawn(process.execPath, [rowshardCli, 'supervised', '-input', 'big.txt', '-output', 'model'], {
      cwd: dir,
      env: { ...process.env, [name]: value },
      stdio: 'ignore',
    });
    // The processes started ahead: the CLI and three more (coordinator, shard, trainer).
    for (let waited = 0; processesMarked(mark).length < 4 && waited < 30_000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    expect(processesMarked(mark).length).toBeGreaterThanOrEqual(4);
    cli.kill('SIGKILL');
    await once(cli, 'exit');
    expect(await noneLeft(mark)).toEqual([]);
  });
});
