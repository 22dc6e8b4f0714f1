import { ErrorCodes, type PsConfig, tableSpec } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { PsNode } from './ps-node.js';

const config: PsConfig = {
  shard: 0,
  numShards: 1,
  seed: 3,
  tables: [
    { spec: tableSpec({ name: 't', numEmbeddings: 8, embeddingDim: 2 }), optimizer: { kind: 'sgd', lr: 1, weightDecay: 0 } },
  ],
  sync: { mode: 'bsp' },
  workers: 2,
  stepTimeoutMs: 5000,
};
const push = (step: number, rank: number, epoch: number) => ({
  tables: [{ table: 't', ids: Float64Array.of(1), grads: Float32Array.of(1, 1), lr: 1, step: 1 }],
  step,
  rank,
  epoch,
});

describe('PsNode configured again (its PS registered again with the coordinator)', () => {
  it("refuses the old epoch's requests as stale until the coordinator restores it, instead of serving an empty shard", async () => {
    const node = new PsNode();
    node.configure(config);
    node.restore({ dir: null, manifest: null, epoch: 7 });
    await Promise.all([node.push(push(0, 0, 7)), node.push(push(0, 1, 7))]);
    // The coordinator dropped this PS (a pause, a partition); it registered again and was
    // configured afresh: step 0 is gone. A worker of epoch 7 pushing step 1 must be sent to
    // recover (E_STALE_EPOCH), not refused for good (E_BAD_REQUEST: push for step 1 while
    // the barrier is at step 0), nor let into a pull of the initial rows.
    node.configure(config);
    expect(() => node.push(push(1, 0, 7))).toThrow(expect.objectContaining({ code: ErrorCodes.STALE_EPOCH }));
    expect(() => node.pull({ tables: [{ table: 't', ids: Float64Array.of(1) }], epoch: 7 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.STALE_EPOCH }),
    );
    // The recovery's restore, in the coordinator's next epoch, is let in; then its workers.
    node.restore({ dir: null, manifest: null, epoch: 8 });
    expect(await node.pull({ tables: [{ table: 't', ids: Float64Array.of(1) }], epoch: 8 })).toMatchObject({
      rows: [expect.any(Float32Array)],
    });
  });
});
