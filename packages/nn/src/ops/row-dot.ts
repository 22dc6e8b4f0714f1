import { ErrorCodes, RowshardError } from '@rowshard/core';
import { allocF32 } from '../step-scope.js';
import { Tensor } from '../tensor.js';

/**
 * out[k] = h[example[k]] · o[k], as [K, 1]: the score of output row k against the hidden
 * vector of the example it belongs to (fastText's `wo_->dotRow(hidden, target)` for a batch of
 * targets and negatives drawn for different examples). Gradients flow to both h and o.
 */
export function rowDot(h: Tensor, example: ArrayLike<number>, o: Tensor): Tensor {
  const [b, d] = h.shape;
  const k = example.length;
  if (h.shape.length !== 2 || o.shape.length !== 2 || o.shape[0] !== k || o.shape[1] !== d)
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `row_dot: h [${h.shape.join(', ')}], ${k} examples and o [${o.shape.join(', ')}] do not match`,
    );
  const out = allocF32(k);
  for (let i = 0; i < k; i++) {
    const e = example[i];
    if (!Number.isInteger(e) || e < 0 || e >= b)
      throw new RowshardError(ErrorCodes.BAD_DATA, `row_dot: example ${e} of output row ${i} is outside [0, ${b})`);
    let s = 0;
    for (let j = 0; j < d; j++) s += h.data[e * d + j] * o.data[i * d + j];
    out[i] = s;
  }
  const result: Tensor = new Tensor([k, 1], out, {
    parents: [h, o],
    backward: () => {
      const g = result.grad as Float32Array;
      const gh = h.requiresGrad ? h.gradBuffer() : null;
      const go = o.requiresGrad ? o.gradBuffer() : null;
      for (let i = 0; i < k; i++) {
        const e = example[i];
        for (let j = 0; j < d; j++) {
          if (gh) gh[e * d + j] += g[i] * o.data[i * d + j];
          if (go) go[i * d + j] += g[i] * h.data[e * d + j];
        }
      }
    },
  });
  return result;
}
