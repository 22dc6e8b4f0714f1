import { type FixtureTensor, f32, loadFixture, maxAbsDiff } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { EmbeddingBag } from '../modules.js';
import { indexTensor, Tensor } from '../tensor.js';
import type { BagMode } from './embedding-bag.js';

interface BagCase {
  mode: BagMode;
  weight: FixtureTensor;
  input: number[];
  offsets: number[];
  per_sample_weights: FixtureTensor | null;
  output: FixtureTensor;
  upstream_grad: FixtureTensor;
  weight_grad_dense: FixtureTensor;
}

function denseGrad(bag: EmbeddingBag, dim: number): Float32Array {
  const dense = new Float32Array(bag.weight.length);
  const g = bag.takeGrad();
  if (g) for (let i = 0; i < g.ids.length; i++) dense.set(g.rows.subarray(i * dim, (i + 1) * dim), g.ids[i] * dim);
  return dense;
}

describe('nn.EmbeddingBag against PyTorch', () => {
  for (const set of ['pytorch', 'pytorch-alt'] as const) {
    const fx = loadFixture<{ embedding_bag: BagCase[] }>(set === 'pytorch' ? 'gradients.json' : 'grads.json', set);
    it.each(fx.embedding_bag.map((c, i) => [`${set}[${i}] ${c.mode}${c.per_sample_weights ? ' weighted' : ''}`, c] as const))(
      '%s',
      (_n, c) => {
        const [V, D] = c.weight.shape;
        const bag = new EmbeddingBag(V, D, { mode: c.mode, weight: f32(c.weight) });
        const psw = c.per_sample_weights ? new Tensor(c.per_sample_weights.shape, f32(c.per_sample_weights)) : null;
        const out = bag.forward(indexTensor([c.input.length], c.input), c.offsets, psw);
        expect(maxAbsDiff(out.data, c.output.data)).toBeLessThan(1e-5);
        out.accumulateGrad(f32(c.upstream_grad));
        out.backwardFn?.();
        expect(maxAbsDiff(denseGrad(bag, D), c.weight_grad_dense.data)).toBeLessThan(1e-5);
      },
    );
  }
});

describe('EmbeddingBag forms and rules', () => {
  const weight = Float32Array.from([0, 0, 1, 2, 3, 4, 5, 6]);

  it('a 2-D input is one bag per row; include_last_offset is accepted', () => {
    const bag = new EmbeddingBag(4, 2, { mode: 'sum', weight: Float32Array.from(weight) });
    expect([...bag.forward(indexTensor([2, 2], [1, 2, 3, 3])).data]).toEqual([4, 6, 10, 12]);
    expect([...bag.forward(indexTensor([3], [1, 2, 3]), [0, 1, 3], null, true).data]).toEqual([1, 2, 8, 10]);
  });

  it('leaves padding entries out of sums and means', () => {
    const bag = new EmbeddingBag(4, 2, { mode: 'mean', paddingIdx: 0, weight: Float32Array.from(weight) });
    expect([...bag.forward(indexTensor([3], [0, 1, 2]), [0]).data]).toEqual([2, 3]);
  });

  it('refuses per_sample_weights outside sum mode and offsets with a 2-D input', () => {
    const bag = new EmbeddingBag(4, 2, { mode: 'mean', weight: Float32Array.from(weight) });
    const w = new Tensor([2], Float32Array.from([1, 1]));
    expect(() => bag.forward(indexTensor([2], [1, 2]), [0], w)).toThrow(/only supported for mode 'sum'/);
    expect(() => bag.forward(indexTensor([1, 2], [1, 2]), [0])).toThrow(/offsets must be absent/);
    expect(() => bag.forward(indexTensor([2], [1, 2]), [1])).toThrow(/offsets must start at 0/);
  });
});
