import { ErrorCodes, RowshardError } from '@rowshard/core';
import { describe, expect, it, vi } from 'vitest';
import { type CheckpointContext, CheckpointScheduler } from './checkpoint-scheduler.js';

/** A scheduler over fakes: shard links whose checkpoint fails `failures` times, a store that keeps nothing. */
function scheduler(failures: number) {
  let left = failures;
  const checkpoint = vi.fn(async () => {
    if (left-- > 0) throw new RowshardError(ErrorCodes.CONNECTION_CLOSED, 'connection to ps 0 closed (code 1006)');
    return [];
  });
  const emit = vi.fn();
  const ctx = {
    store: {
      stepDir: (step: number) => `/nowhere/step-${step}`,
      writeDense: () => ({ file: 'dense.safetensors', bytes: 0, sha256: '' }),
      commit: (_dir: string, m: object) => ({ ...m, totalBytes: 0, durationMs: 0 }),
    },
    links: { checkpoint },
    job: { seed: 1, steps: 60, checkpoint: { everySteps: 5 }, data: { kind: 'synthetic_text' }, timeouts: { stepMs: 1000 } },
    model: { tables: [] },
    psTables: [],
    numShards: 1,
    workers: 2,
    dense: () => ({ snapshot: () => ({}), optimizerState: () => ({}), version: 1 }),
    epoch: () => 1,
    emit,
  } as unknown as CheckpointContext;
  return { s: new CheckpointScheduler(ctx), checkpoint, emit };
}

describe('CheckpointScheduler (BSP)', () => {
  it('every contributor to a barrier awaits the one checkpoint', async () => {
    const { s, checkpoint, emit } = scheduler(0);
    await Promise.all([s.atBarrier(5), s.atBarrier(5)]);
    expect(checkpoint).toHaveBeenCalledTimes(1);
    expect(emit).toHaveBeenCalledWith(expect.objectContaining({ step: 5 }));
    expect(s.lastStep).toBe(5);
  });

  it('a checkpoint that failed (a shard died under it) is taken again when the replay after the recovery reaches its step', async () => {
    const { s, checkpoint, emit } = scheduler(1);
    await expect(Promise.all([s.atBarrier(5), s.atBarrier(5)])).rejects.toThrow(/ps 0 closed/);
    // The recovery went back to an earlier checkpoint and the workers replayed up to step 5:
    // before, they got the kept rejection again, and recovered again, until they gave up.
    await s.atBarrier(5);
    expect(checkpoint).toHaveBeenCalledTimes(2);
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit).toHaveBeenCalledWith(expect.objectContaining({ step: 5 }));
  });
});
