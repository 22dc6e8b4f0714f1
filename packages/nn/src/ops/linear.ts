import { ErrorCodes, RowshardError } from '@rowshard/core';
import { allocF32, kernels } from '../step-scope.js';
import { Tensor } from '../tensor.js';

/**
 * y = x·Wᵀ + b for x [..., in], W [out, in] (PyTorch's layout), b [out] or null.
 * Leading dimensions are flattened into rows. The arithmetic is the kernels' (SIMD inside a
 * step scope, JavaScript outside): deterministic, each output one running sum.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const inF = x.shape[x.shape.length - 1];
  const [outF, wIn] = weight.shape;
  if (weight.shape.length !== 2 || wIn !== inF) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `linear: input has ${inF} features but weight is [${weight.shape.join(', ')}]`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outF)) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `linear: bias must be [${outF}], got [${bias.shape.join(', ')}]`);
  }
  const rows = inF === 0 ? 0 : x.size / inF;
  const k = kernels();
  const out = allocF32(rows * outF);
  k.linearForward(x.data, weight.data, bias ? bias.data : null, out, rows, inF, outF);
  const shape = [...x.shape.slice(0, -1), outF];
  const result: Tensor = new Tensor(shape, out, {
    parents: bias ? [x, weight, bias] : [x, weight],
    backward: () => {
      const G = result.grad as Float32Array;
      const k = kernels();
      if (x.requiresGrad) k.linearGradInput(G, weight.data, x.gradBuffer(), rows, inF, outF);
      if (weight.requiresGrad) {
        k.linearGradWeight(G, x.data, weight.gradBuffer(), bias?.requiresGrad ? bias.gradBuffer() : null, rows, inF, outF);
      } else if (bias?.requiresGrad) {
        const gb = bias.gradBuffer();
        for (let r = 0; r < rows; r++) for (let o = 0; o < outF; o++) gb[o] += G[r * outF + o];
      }
    },
  });
  return result;
}
