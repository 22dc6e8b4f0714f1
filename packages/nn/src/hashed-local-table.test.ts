import { parseOptimizerGroups, rowInitializer, tableSpec } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { crossEntropy } from './losses.js';
import type { Batch, Model } from './model.js';
import { Embedding, EmbeddingBag } from './modules.js';
import { embeddingLookup } from './ops/embedding.js';
import { linear } from './ops/linear.js';
import type { RowSource } from './row-source.js';
import { indexTensor } from './tensor.js';
import { LocalTrainer } from './training/local-trainer.js';

/** Real-looking 64-bit feature ids: k times the golden ratio's 64-bit constant, mod 2^64. */
const rawId = (k: number) => BigInt.asUintN(64, 0x9e3779b97f4a7c15n * BigInt(k));
const ids = (...ks: number[]) => BigUint64Array.from(ks, rawId);

function initRow(spec: ReturnType<typeof tableSpec>, seed: number, id: bigint): Float32Array {
  const out = new Float32Array(spec.embeddingDim);
  rowInitializer(spec, seed).fill(Number(id & 0xffffffffn), Number(id >> 32n), out, 0);
  return out;
}

describe('a hashed table in one process', () => {
  it('nn.Embedding reads each 64-bit id its own deterministic row, ids one apart past 2^53 included', () => {
    const emb = new Embedding(1000, 4, { kind: 'hashed', name: 'h', seed: 3 });
    const big = 2n ** 60n;
    const input = BigUint64Array.of(big, big + 1n, rawId(7), big);
    const out = emb.forward(indexTensor([4], input));
    const spec = emb.table.spec;
    expect(out.data.subarray(0, 4)).toEqual(initRow(spec, 3, big));
    expect(out.data.subarray(4, 8)).toEqual(initRow(spec, 3, big + 1n));
    expect(out.data.subarray(4, 8)).not.toEqual(out.data.subarray(0, 4));
    expect(out.data.subarray(8, 12)).toEqual(initRow(spec, 3, rawId(7)));
    expect(out.data.subarray(12, 16)).toEqual(out.data.subarray(0, 4));
    // The gradient: one row per distinct id, duplicates summed.
    out.accumulateGrad(Float32Array.from({ length: 16 }, (_, i) => (i < 4 || i >= 12 ? 1 : 2)));
    out.backwardFn?.();
    const g = emb.takeGrad();
    expect(g?.ids).toEqual(BigUint64Array.of(big, big + 1n, rawId(7)));
    expect(Array.from(g?.rows ?? [])).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
  });

  it('nn.EmbeddingBag sums a bag of 64-bit ids', () => {
    const bag = new EmbeddingBag(10, 3, { kind: 'hashed', name: 'h', mode: 'sum' });
    const input = ids(1, 2, 3);
    const out = bag.forward(indexTensor([3], input), [0, 2]);
    const spec = bag.embedding.table.spec;
    const [a, b, c] = [1, 2, 3].map((k) => initRow(spec, 0, rawId(k)));
    for (let d = 0; d < 3; d++) {
      expect(out.data[d]).toBe(Math.fround(a[d] + b[d]));
      expect(out.data[3 + d]).toBe(c[d]);
    }
  });

  it('refuses 64-bit ids for a dense table, naming it', () => {
    const emb = new Embedding(10, 2, { name: 'words' });
    expect(() => emb.forward(indexTensor([1], ids(1)))).toThrow(/table 'words' is dense/);
  });

  it('LocalTrainer trains a hashed table: only looked-up ids become rows, and they move', () => {
    const spec = tableSpec({ name: 'users', kind: 'hashed', numEmbeddings: 100, embeddingDim: 4 });
    const model: Model = {
      name: 'hashed_probe',
      task: 'classification',
      tables: [spec],
      dense: [{ name: 'head.weight', shape: [2, 4], init: { kind: 'linear', fanIn: 4 }, group: 'dense' }],
      rowsNeeded: (batch: Batch) => ({ users: [batch.inputs[0].data] }),
      forward: (ctx, batch) => {
        const emb = ctx.table('users');
        const rows = embeddingRows(emb, batch.inputs[0].data as BigUint64Array);
        return linear(rows, ctx.param('head.weight'), null);
      },
      loss: (output, batch) => crossEntropy(output, batch.target),
    };
    const trainer = new LocalTrainer({
      model,
      groups: parseOptimizerGroups({ embeddings: { kind: 'adagrad', lr: 0.5 }, dense: { kind: 'sgd', lr: 0.1 } }),
      seed: 9,
    });
    const batch: Batch = { inputs: [indexTensor([4], ids(1, 2, 3, 1))], target: [0, 1, 1, 0] };
    const first = trainer.trainStep(batch);
    let last = first;
    for (let i = 0; i < 20; i++) last = trainer.trainStep(batch);
    expect(last).toBeLessThan(first);
    const rows = trainer.hashedRows('users');
    expect(rows.ids).toEqual(ids(1, 2, 3));
    expect(rows.weights.subarray(0, 4)).not.toEqual(initRow(spec, 9, rawId(1)));
  });
});

function embeddingRows(source: RowSource, data: BigUint64Array) {
  return embeddingLookup(source, indexTensor([data.length], data));
}
