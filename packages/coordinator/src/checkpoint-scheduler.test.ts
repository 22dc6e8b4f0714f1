import { ErrorCodes, parseJobConfig, RowshardError } from '@rowshard/core';
import { describe, expect, it, vi } from 'vitest';
import { type CheckpointContext, CheckpointScheduler } from './checkpoint-scheduler.js';

/**
 * A scheduler over fakes: shard links whose checkpoint fails `failures` times (and runs
 * `whileShardsWrite` before answering), a store that keeps nothing, the coordinator's epoch.
 */
function scheduler(failures: number, whileShardsWrite: (restored: () => void) => void = () => {}) {
  let left = failures;
  let epoch = 1;
  const checkpoint = vi.fn(async () => {
    if (left-- > 0) throw new RowshardError(ErrorCodes.CONNECTION_CLOSED, 'connection to ps 0 closed (code 1006)');
    whileShardsWrite(() => epoch++);
    return [];
  });
  const emit = vi.fn();
  const emitFailed = vi.fn();
  const ctx = {
    store: {
      stepDir: (step: number) => `/nowhere/step-${step}`,
      writeDense: () => ({ file: 'dense.safetensors', bytes: 0, sha256: '' }),
      commit: (_dir: string, m: object) => ({ ...m, totalBytes: 0, durationMs: 0 }),
      discard: () => null,
      prune: () => {},
    },
    links: { checkpoint },
    job: parseJobConfig({
      seed: 1,
      model: { name: 'text_classifier', options: {} },
      optimizers: { embeddings: { kind: 'sgd', lr: 0.1 } },
      steps: 60,
      batchSize: 4,
      cluster: { ps: 1, trainers: 1, workersPerTrainer: 2 },
      data: { kind: 'synthetic_text', vocabSize: 10, seqLen: 2 },
      checkpoint: { dir: '/nowhere', everySteps: 5 },
      timeouts: { stepMs: 1000 },
    }),
    model: { tables: [] },
    psTables: [],
    numShards: 1,
    workers: 2,
    dense: () => ({ snapshot: () => ({}), optimizerState: () => ({}), version: 1 }),
    epoch: () => epoch,
    emit,
    emitFailed,
    fault: () => {},
  } as unknown as CheckpointContext;
  return { s: new CheckpointScheduler(ctx), checkpoint, emit, emitFailed };
}

describe('CheckpointScheduler (BSP)', () => {
  it('every contributor to a barrier awaits the one checkpoint', async () => {
    const { s, checkpoint, emit, emitFailed } = scheduler(0);
    await Promise.all([s.atBarrier(5), s.atBarrier(5)]);
    expect(emitFailed).not.toHaveBeenCalled();
    expect(checkpoint).toHaveBeenCalledTimes(1);
    expect(emit).toHaveBeenCalledWith(expect.objectContaining({ step: 5 }));
    expect(s.lastStep).toBe(5);
  });

  it('a checkpoint that failed (a shard died under it) is taken again when the replay after the recovery reaches its step', async () => {
    const { s, checkpoint, emit, emitFailed } = scheduler(1);
    // The failure is reported (checkpoint_failed), not thrown: training goes on.
    await Promise.all([s.atBarrier(5), s.atBarrier(5)]);
    expect(emitFailed).toHaveBeenCalledWith(expect.objectContaining({ step: 5, reason: expect.stringMatching(/ps 0 closed/) }));
    // The recovery went back to an earlier checkpoint and the workers replayed up to step 5:
    // the checkpoint is taken again, not answered from the failed attempt.
    await s.atBarrier(5);
    expect(checkpoint).toHaveBeenCalledTimes(2);
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit).toHaveBeenCalledWith(expect.objectContaining({ step: 5 }));
  });

  it('a checkpoint whose shards answered after a recovery restored the cluster fails: its dense state would be the restored one', async () => {
    const { s, emit, emitFailed } = scheduler(0, (restored) => restored());
    await s.atBarrier(5);
    expect(emitFailed).toHaveBeenCalledWith(
      expect.objectContaining({
        step: 5,
        code: ErrorCodes.STALE_EPOCH,
        reason: expect.stringMatching(/restored while it was written/),
      }),
    );
    expect(emit).not.toHaveBeenCalled();
    expect(s.lastStep).toBeNull();
  });
});

describe('CheckpointScheduler (ASP/SSP)', () => {
  it("a checkpoint that failed is taken again once a recovery's replay reaches its step (the job's last above all)", async () => {
    const { s, checkpoint, emit, emitFailed } = scheduler(1);
    // Worker 0 finished the last step (60) while worker 1 was at 59; then worker 1 finished it:
    // the end-of-job checkpoint is due, and fails (a shard died under it).
    const finished = new Set<number>();
    const finishJob = async () => {
      finished.clear();
      expect(s.park(0, [60, 59], finished)).toBeUndefined();
      finished.add(0);
      await s.park(1, [60, 60], finished);
      finished.add(1);
    };
    await finishJob();
    expect(emitFailed).toHaveBeenCalledWith(expect.objectContaining({ step: 60 }));
    // The recovery restored step 0 and the workers trained up to step 60 again.
    s.restoredTo(0);
    await finishJob();
    expect(checkpoint).toHaveBeenCalledTimes(2);
    expect(emit).toHaveBeenCalledWith(expect.objectContaining({ step: 60 }));
    expect(s.lastStep).toBe(60);
  });
});
