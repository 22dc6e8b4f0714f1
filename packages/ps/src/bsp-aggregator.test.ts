import { tableSpec } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { BspAggregator } from './bsp-aggregator.js';
import { PsService } from './ps-service.js';

const spec = tableSpec({ name: 't', numEmbeddings: 8, embeddingDim: 2 });
const service = () =>
  new PsService({ shard: 0, numShards: 1, seed: 1, tables: [{ spec, optimizer: { kind: 'sgd', lr: 1, weightDecay: 0 } }] });
const part = (ids: number[], g: number) => ({
  table: 't',
  ids: Float64Array.from(ids),
  grads: new Float32Array(ids.length * 2).fill(g),
  lr: 0.5,
  step: 1,
});

describe('BspAggregator', () => {
  it('applies a step once all ranks pushed, summing in rank order whatever the arrival order', async () => {
    const a = service();
    const b = service();
    const inOrder = new BspAggregator(a, 3, 10_000);
    const shuffled = new BspAggregator(b, 3, 10_000);
    const contributions = [part([1, 2], 0.1), part([2], 1e8), part([2, 3], -1e8)];
    await Promise.all(contributions.map((c, rank) => inOrder.push(0, rank, [c])));
    await Promise.all([2, 0, 1].map((rank) => shuffled.push(0, rank, [contributions[rank]])));
    const ids = Float64Array.from({ length: 8 }, (_, i) => i);
    expect(b.pull([{ table: 't', ids }])).toEqual(a.pull([{ table: 't', ids }]));
    expect(inOrder.appliedSteps).toBe(1);
  });

  it('applies ranks with disjoint rows, and ranks with shared rows, as one optimizer step on the rank-ordered sum', async () => {
    // One shard over several steps: its scratch memory is reused from step to step.
    const s = service();
    const agg = new BspAggregator(s, 2, 10_000);
    const all = Float64Array.from({ length: 8 }, (_, i) => i);
    let step = 0;
    for (const [ids0, ids1] of [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [1, 2],
        [2, 5],
      ],
      [
        [6, 7],
        [0, 3],
      ],
    ]) {
      const before = s.pull([{ table: 't', ids: all }])[0];
      await Promise.all([agg.push(step, 0, [part(ids0, 1)]), agg.push(step, 1, [part(ids1, 10)])]);
      step++;
      const after = s.pull([{ table: 't', ids: all }])[0];
      // SGD with lr 0.5: each row moves by 0.5 × the sum of the gradients it received.
      for (let r = 0; r < 8; r++) {
        const g = (ids0.includes(r) ? 1 : 0) + (ids1.includes(r) ? 10 : 0);
        for (let d = 0; d < 2; d++) expect(after[r * 2 + d]).toBeCloseTo(before[r * 2 + d] - 0.5 * g, 5);
      }
    }
  });

  it('sums into zeroed rows when the memory it sums in was used before (scratch reuse)', async () => {
    const wide = tableSpec({ name: 'w', numEmbeddings: 16, embeddingDim: 64 });
    const s = new PsService({
      shard: 0,
      numShards: 1,
      seed: 1,
      tables: [{ spec: wide, optimizer: { kind: 'sgd', lr: 1, weightDecay: 0 } }],
    });
    const agg = new BspAggregator(s, 2, 10_000);
    const grad = (ids: number[]) => ({
      table: 'w',
      ids: Float64Array.from(ids),
      grads: new Float32Array(ids.length * 64).fill(1),
      lr: 1,
      step: 1,
    });
    const all = Float64Array.from({ length: 16 }, (_, i) => i);
    for (let step = 0; step < 3; step++) {
      // A pull first: its gather leaves rows in scratch blocks the push may reuse.
      const before = s.pull([{ table: 'w', ids: all }])[0];
      await Promise.all([agg.push(step, 0, [grad([1, 2])]), agg.push(step, 1, [grad([3, 4])])]);
      const after = s.pull([{ table: 'w', ids: all }])[0];
      for (let r = 0; r < 16; r++) {
        const moved = [1, 2, 3, 4].includes(r) ? 1 : 0;
        for (let d = 0; d < 64; d++) expect(after[r * 64 + d]).toBe(Math.fround(before[r * 64 + d] - moved));
      }
    }
  });

  it('holds a pull for step t+1 until step t is applied', async () => {
    const s = service();
    const agg = new BspAggregator(s, 2, 10_000);
    let served = false;
    const pull = agg.whenApplied(1).then(() => {
      served = true;
    });
    const first = agg.push(0, 0, [part([1], 1)]);
    await Promise.resolve();
    expect(served).toBe(false);
    await Promise.all([first, agg.push(0, 1, [])]);
    await pull;
    expect(served).toBe(true);
  });

  it('refuses a bad part at once and times out a step that never fills, changing nothing', async () => {
    const s = service();
    const agg = new BspAggregator(s, 2, 30);
    expect(() => agg.push(0, 0, [part([9], 1)])).toThrow(/out of range/);
    const before = s.pull([{ table: 't', ids: Float64Array.of(1) }])[0];
    await expect(agg.push(0, 0, [part([1], 1)])).rejects.toMatchObject({
      code: 'E_TIMEOUT',
      message: expect.stringContaining('ranks 1 did not push'),
    });
    expect(s.pull([{ table: 't', ids: Float64Array.of(1) }])[0]).toEqual(before);
  });
});
