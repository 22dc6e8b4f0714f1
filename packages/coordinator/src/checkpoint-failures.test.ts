import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointDirName, ErrorCodes, RowshardError, type ShardFileInfo } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type CheckpointFailure, CheckpointScheduler } from './checkpoint-scheduler.js';
import { CheckpointStore, type SkippedCheckpoint } from './checkpoint-store.js';
import { DenseState } from './dense-state.js';
import { writeFileDurably } from './durable-file.js';
import { setUpJob } from './job-setup.js';
import { coordinatorMetrics } from './metrics.js';
import type { ShardLinks } from './shard-links.js';
import type { CoordinatorStatus } from './status.js';

const root = mkdtempSync(join(tmpdir(), 'rowshard-ckpt-fail-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every `.tmp` file under `dir`. */
function tmpFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));
}

const policy = (dir: string) => ({ dir, everySteps: 10, everySeconds: null, keep: 5, resume: 'latest' });

describe('durable writes that fail', () => {
  it('writeFileDurably removes its .tmp and throws the error as it came', () => {
    const dir = join(root, 'durable');
    mkdirSync(dir);
    function* chunks() {
      yield new Uint8Array(100);
      throw new Error('disk gone');
    }
    expect(() => writeFileDurably(join(dir, 'f.bin'), chunks())).toThrow('disk gone');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a dense file or manifest that cannot be written is E_CHECKPOINT_WRITE naming the file, with no .tmp left', () => {
    const dir = join(root, 'store');
    const store = new CheckpointStore(policy(dir));
    // A step directory that is a file: nothing can be created inside it.
    writeFileSync(store.stepDir(10), 'in the way');
    expect(() => store.writeDense(store.stepDir(10), { values: {}, states: {}, version: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.CHECKPOINT_WRITE, message: expect.stringContaining('dense.safetensors') }),
    );
    // manifest.json is a directory: the rename fails after the tmp file was written.
    const step20 = store.stepDir(20);
    mkdirSync(join(step20, 'manifest.json', 'x'), { recursive: true });
    let thrown: unknown;
    try {
      store.commit(step20, { step: 20 } as never);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RowshardError);
    expect(thrown).toMatchObject({ code: ErrorCodes.CHECKPOINT_WRITE, details: { file: join(step20, 'manifest.json') } });
    expect(tmpFiles(dir)).toEqual([]);
    expect(store.discard(step20)).toBeNull();
    expect(existsSync(step20)).toBe(false);
  });
});

describe('skipped checkpoints', () => {
  it('every checkpoint passed over is reported with its name and reason, newest first', () => {
    const dir = join(root, 'skips');
    const store = new CheckpointStore(policy(dir));
    mkdirSync(store.stepDir(30));
    writeFileSync(join(store.stepDir(30), 'manifest.json'), '{ not json');
    mkdirSync(store.stepDir(20)); // an unfinished one: no manifest
    const skipped: SkippedCheckpoint[] = [];
    expect(store.findResumable((_e, s) => skipped.push(s))).toBeNull();
    expect(skipped.map((s) => s.name)).toEqual([checkpointDirName(30), checkpointDirName(20)]);
    expect(skipped[0].reason).toMatch(/manifest\.json: unreadable/);
    expect(skipped[1].reason).toMatch(/no manifest\.json \(an unfinished checkpoint\)/);
    expect(skipped[0].dir).toBe(store.stepDir(30));
  });
});

describe('CheckpointScheduler: a checkpoint that fails', () => {
  async function scheduler(dir: string, sync: 'bsp' | 'asp', failAt: ReadonlySet<number>) {
    const { job, model, psTables } = await setUpJob(
      {
        seed: 1,
        model: { name: 'text_classifier', options: { vocabSize: 50, embeddingDim: 4, hiddenDim: 4, numClasses: 2 } },
        optimizers: { embeddings: { kind: 'sgd', lr: 0.1 }, dense: { kind: 'adam', lr: 0.1 } },
        sync,
        steps: 30,
        batchSize: 4,
        cluster: { ps: 1, trainers: 1, workersPerTrainer: 2 },
        data: { kind: 'synthetic_text', vocabSize: 50, seqLen: 4, numClasses: 2, seed: 1 },
        checkpoint: { dir, everySteps: 10 },
      },
      () => Promise.reject(new Error('no modules')),
      () => ({}),
    );
    const store = new CheckpointStore(job.checkpoint!);
    const dense = new DenseState(model.dense, job.optimizers, job.seed);
    // The shard's side: writes its file, or leaves a partial one and answers a disk error.
    const links = {
      async checkpoint(stepDir: string, step: number): Promise<ShardFileInfo[]> {
        mkdirSync(stepDir, { recursive: true });
        if (failAt.has(step)) {
          writeFileSync(join(stepDir, 'shard-0.safetensors.tmp'), 'partial');
          throw new RowshardError(ErrorCodes.CHECKPOINT_WRITE, 'shard 0: writing shard-0.safetensors: ENOSPC: no space left');
        }
        writeFileSync(join(stepDir, 'shard-0.safetensors'), 'rows');
        return [{ shard: 0, file: 'shard-0.safetensors', bytes: 4, sha256: 'x', rows: {} }];
      },
    } as unknown as ShardLinks;
    const failed: CheckpointFailure[] = [];
    const written: number[] = [];
    const s = new CheckpointScheduler({
      store,
      links,
      job,
      model,
      psTables,
      numShards: 1,
      workers: 2,
      dense: () => dense,
      epoch: () => 1,
      emit: (info) => written.push(info.step),
      emitFailed: (info) => failed.push(info),
      fault: (reason) => {
        throw new Error(`unexpected fault: ${reason}`);
      },
    });
    return { s, store, failed, written };
  }

  it('BSP: the barrier goes on, the partial directory is removed, the failure is reported and counted', async () => {
    const dir = join(root, 'bsp');
    const { s, store, failed, written } = await scheduler(dir, 'bsp', new Set([20, 30]));
    await s.atBarrier(10);
    await expect(s.atBarrier(20)).resolves.toBeUndefined();
    expect(failed).toEqual([
      {
        step: 20,
        dir: store.stepDir(20),
        code: ErrorCodes.CHECKPOINT_WRITE,
        reason: 'shard 0: writing shard-0.safetensors: ENOSPC: no space left',
      },
    ]);
    expect(existsSync(store.stepDir(20))).toBe(false);
    // The last step's checkpoint fails too: the job goes on to its end without one.
    await expect(s.atBarrier(30)).resolves.toBeUndefined();
    expect(written).toEqual([10]);
    expect(s.counts).toMatchObject({ written: 1, failed: 2, lastStep: 10, lastFailure: { step: 30 } });
    expect(s.lastStep).toBe(10);
    expect(readdirSync(dir)).toEqual([checkpointDirName(10)]);
    expect(existsSync(join(store.stepDir(10), 'manifest.json'))).toBe(true);
  });

  it('ASP: the parked workers are released without an error and the next checkpoint is tried', async () => {
    const dir = join(root, 'asp');
    const { s, failed, written } = await scheduler(dir, 'asp', new Set([10]));
    const done = new Set<number>();
    const first = s.park(0, [10, 10], done);
    const second = s.park(1, [10, 10], done);
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(failed.map((f) => f.step)).toEqual([10]);
    await Promise.all([s.park(0, [20, 20], done), s.park(1, [20, 20], done)]);
    expect(written).toEqual([20]);
    expect(tmpFiles(dir)).toEqual([]);
  });
});

describe('/metrics', () => {
  it('counts written and failed checkpoints, as counters', async () => {
    const { registry } = coordinatorMetrics(
      () =>
        ({
          evals: [],
          shardsReady: [],
          lastProgress: null,
          rowCache: null,
          checkpoints: { written: 3, failed: 2, lastStep: 30, lastFailure: null },
        }) as unknown as CoordinatorStatus,
    );
    const text = await registry.metrics();
    expect(text).toMatch(/^rowshard_checkpoints_written_total 3$/m);
    expect(text).toMatch(/^rowshard_checkpoints_failed_total 2$/m);
    expect(text).toMatch(/^# TYPE rowshard_checkpoints_failed_total counter$/m);
    // A second scrape reads the same totals (set, not added up).
    expect(await registry.metrics()).toMatch(/^rowshard_checkpoints_written_total 3$/m);
  });
});
