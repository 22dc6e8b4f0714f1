import { ErrorCodes, RowshardError, type StreamKey } from '@rowshard/core';
import { allocF32, kernels } from '../step-scope.js';
import { Tensor } from '../tensor.js';

export function relu(x: Tensor): Tensor {
  const out = allocF32(x.size);
  kernels().reluForward(x.data, out);
  const result: Tensor = new Tensor(x.shape, out, {
    parents: [x],
    // out > 0 exactly where x > 0, so the backward reads the output.
    backward: () => kernels().reluBackward(out, result.grad as Float32Array, x.gradBuffer()),
  });
  return result;
}

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `${op}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
}

export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'add');
  const out = allocF32(a.size);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
  const result: Tensor = new Tensor(a.shape, out, {
    parents: [a, b],
    backward: () => {
      const g = result.grad as Float32Array;
      a.accumulateGrad(g);
      b.accumulateGrad(g);
    },
  });
  return result;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'mul');
  const out = allocF32(a.size);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] * b.data[i];
  const result: Tensor = new Tensor(a.shape, out, {
    parents: [a, b],
    backward: () => {
      const g = result.grad as Float32Array;
      if (a.requiresGrad) {
        const ga = a.gradBuffer();
        for (let i = 0; i < ga.length; i++) ga[i] += g[i] * b.data[i];
      }
      if (b.requiresGrad) {
        const gb = b.gradBuffer();
        for (let i = 0; i < gb.length; i++) gb[i] += g[i] * a.data[i];
      }
    },
  });
  return result;
}

/**
 * Inverted dropout, as nn.Dropout: in training, zero each value with probability p and
 * scale the rest by 1/(1-p). The mask comes from Philox keyed by (key, step, call), so a
 * run is reproducible; it cannot match PyTorch's generator bit for bit, so parity runs use p=0.
 */
export function dropout(x: Tensor, p: number, training: boolean, key: StreamKey, counter: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RowshardError(ErrorCodes.BAD_CONFIG, `dropout probability must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  // The mask as factors: 0 where dropped, 1/(1-p) where kept; forward and backward multiply by it.
  const mask = allocF32(x.size);
  kernels().dropoutMask(mask, key, counter, p);
  const out = allocF32(x.size);
  kernels().mul(x.data, mask, out);
  const result: Tensor = new Tensor(x.shape, out, {
    parents: [x],
    backward: () => kernels().mulAdd(result.grad as Float32Array, mask, x.gradBuffer()),
  });
  return result;
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const result: Tensor = new Tensor(shape, x.data, {
    parents: [x],
    backward: () => x.accumulateGrad(result.grad as Float32Array),
  });
  return result;
}
