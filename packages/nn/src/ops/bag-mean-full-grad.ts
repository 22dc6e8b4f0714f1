import { allocF32 } from '../step-scope.js';
import { Tensor } from '../tensor.js';

/**
 * Bag sums [B, D] to means in the forward pass, while the backward pass hands each bag's
 * gradient on undivided: fastText's unsupervised update (`Model::update` without
 * `normalizeGradient`) averages the input rows into the hidden vector but adds the whole
 * hidden gradient to every one of them.
 */
export function bagMeanFullGrad(sums: Tensor, offsets: ArrayLike<number>, total: number): Tensor {
  const [b, d] = sums.shape;
  const out = allocF32(b * d);
  for (let i = 0; i < b; i++) {
    const n = (i + 1 < b ? offsets[i + 1] : total) - offsets[i];
    const scale = n > 0 ? 1 / n : 0;
    for (let j = 0; j < d; j++) out[i * d + j] = sums.data[i * d + j] * scale;
  }
  const result: Tensor = new Tensor([b, d], out, {
    parents: [sums],
    backward: () => {
      if (!sums.requiresGrad) return;
      const g = result.grad as Float32Array;
      const gs = sums.gradBuffer();
      for (let k = 0; k < b * d; k++) gs[k] += g[k];
    },
  });
  return result;
}
