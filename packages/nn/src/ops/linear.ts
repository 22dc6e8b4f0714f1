import { ErrorCodes, RowshardError } from '@rowshard/core';
import { Tensor } from '../tensor.js';

/**
 * y = x·Wᵀ + b for x [..., in], W [out, in] (PyTorch's layout), b [out] or null.
 * Leading dimensions are flattened into rows.
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
  const rows = x.size / inF;
  const X = x.data;
  const W = weight.data;
  const out = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    const xo = r * inF;
    for (let o = 0; o < outF; o++) {
      const wo = o * inF;
      let acc = bias ? bias.data[o] : 0;
      for (let i = 0; i < inF; i++) acc += X[xo + i] * W[wo + i];
      out[r * outF + o] = acc;
    }
  }
  const shape = [...x.shape.slice(0, -1), outF];
  const result: Tensor = new Tensor(shape, out, {
    parents: bias ? [x, weight, bias] : [x, weight],
    backward: () => {
      const G = result.grad as Float32Array;
      if (x.requiresGrad) {
        const gx = x.gradBuffer();
        for (let r = 0; r < rows; r++) {
          for (let o = 0; o < outF; o++) {
            const g = G[r * outF + o];
            if (g === 0) continue;
            const wo = o * inF;
            const xo = r * inF;
            for (let i = 0; i < inF; i++) gx[xo + i] += g * W[wo + i];
          }
        }
      }
      if (weight.requiresGrad) {
        const gw = weight.gradBuffer();
        for (let r = 0; r < rows; r++) {
          for (let o = 0; o < outF; o++) {
            const g = G[r * outF + o];
            if (g === 0) continue;
            const wo = o * inF;
            const xo = r * inF;
            for (let i = 0; i < inF; i++) gw[wo + i] += g * X[xo + i];
          }
        }
      }
      if (bias?.requiresGrad) {
        const gb = bias.gradBuffer();
        for (let r = 0; r < rows; r++) for (let o = 0; o < outF; o++) gb[o] += G[r * outF + o];
      }
    },
  });
  return result;
}
