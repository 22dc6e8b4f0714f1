import { tableSpec } from '@rowshard/core';
import { type FixtureTensor, f32, loadFixture, maxAbsDiff } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { LocalTable } from '../local-table.js';
import { Embedding } from '../modules.js';
import { indexTensor } from '../tensor.js';
import { embeddingLookup } from './embedding.js';

interface LookupCase {
  kwargs: Record<string, number | boolean>;
  weight: FixtureTensor;
  indices: number[][];
  output: FixtureTensor;
  weight_after: FixtureTensor;
}

function tableFor(kwargs: Record<string, number | boolean>, weight: FixtureTensor): LocalTable {
  const spec = tableSpec({
    name: 'fx',
    numEmbeddings: weight.shape[0],
    embeddingDim: weight.shape[1],
    paddingIdx: (kwargs.padding_idx as number | undefined) ?? null,
    maxNorm: (kwargs.max_norm as number | undefined) ?? null,
    normType: (kwargs.norm_type as number | undefined) ?? 2,
    scaleGradByFreq: (kwargs.scale_grad_by_freq as boolean | undefined) ?? false,
  });
  return new LocalTable(spec, f32(weight));
}

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
const shapeOf = (v: unknown): number[] => (Array.isArray(v) ? [v.length, ...shapeOf(v[0])] : []);

describe('nn.Embedding forward against PyTorch', () => {
  for (const set of ['pytorch', 'pytorch-alt'] as const) {
    const fx = loadFixture<{ cases: LookupCase[] }>(set === 'pytorch' ? 'forward_lookup.json' : 'lookups.json', set);
    it.each(fx.cases.map((c, i) => [`${set}[${i}] ${JSON.stringify(c.kwargs)}`, c] as const))('%s', (_n, c) => {
      const table = tableFor(c.kwargs, c.weight);
      const out = embeddingLookup(table, indexTensor(shapeOf(c.indices), flat(c.indices)));
      expect(out.shape).toEqual([...shapeOf(c.indices), c.weight.shape[1]]);
      expect(maxAbsDiff(out.data, c.output.data)).toBeLessThan(1e-5);
      expect(maxAbsDiff(table.weights, c.weight_after.data)).toBeLessThan(1e-5);
    });
  }
});

interface GradCase {
  kwargs: Record<string, number | boolean>;
  weight: FixtureTensor;
  indices: number[][];
  upstream_grad: FixtureTensor;
  weight_grad_dense: FixtureTensor;
}

describe('nn.Embedding backward against PyTorch', () => {
  const fx = loadFixture<{ embedding: GradCase[] }>('gradients.json');
  it.each(fx.embedding.map((c) => [JSON.stringify(c.kwargs), c] as const))('%s', (_n, c) => {
    const table = tableFor(c.kwargs, c.weight);
    const out = embeddingLookup(table, indexTensor(shapeOf(c.indices), flat(c.indices)));
    out.accumulateGrad(f32(c.upstream_grad));
    out.backwardFn?.();
    const grad = table.takeGrad();
    const dense = new Float32Array(table.weights.length);
    const dim = c.weight.shape[1];
    if (grad) for (let i = 0; i < grad.ids.length; i++) dense.set(grad.rows.subarray(i * dim, (i + 1) * dim), grad.ids[i] * dim);
    expect(maxAbsDiff(dense, c.weight_grad_dense.data)).toBeLessThan(1e-5);
    // The sparse gradient names each row once and never the padding row.
    if (grad) {
      expect(new Set(grad.ids).size).toBe(grad.ids.length);
      if (typeof c.kwargs.padding_idx === 'number') expect([...grad.ids]).not.toContain(c.kwargs.padding_idx);
    }
  });
});

describe('lookup validation', () => {
  const emb = new Embedding(5, 2, { name: 'words' });

  it('refuses an index out of range, naming table, position, index and range', () => {
    expect(() => emb.forward(indexTensor([3], [0, 7, 1]))).toThrow("table 'words': index 7 at position 1 is out of range [0, 5)");
    expect(() => emb.forward(indexTensor([1], [-1]))).toThrow(/index -1 at position 0 is out of range/);
    expect(() => emb.forward(indexTensor([1], [1.5]))).toThrow(/index 1.5 at position 0 is not an integer/);
  });

  it('looks up any index shape, including empty ones', () => {
    expect(emb.forward(indexTensor([2, 1, 2], [0, 1, 2, 3])).shape).toEqual([2, 1, 2, 2]);
    expect(emb.forward(indexTensor([0, 4], [])).shape).toEqual([0, 4, 2]);
  });

  it('from_pretrained freezes by default and records no gradient', () => {
    const w = Float32Array.from([1, 2, 3, 4]);
    const frozen = Embedding.fromPretrained(w, [2, 2]);
    expect(frozen.forward(indexTensor([1], [1])).requiresGrad).toBe(false);
    expect([...frozen.weight]).toEqual([1, 2, 3, 4]);
    const tuned = Embedding.fromPretrained(w, [2, 2], { freeze: false });
    expect(tuned.forward(indexTensor([1], [1])).requiresGrad).toBe(true);
  });
});
