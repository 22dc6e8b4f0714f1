import { ErrorCodes, philox4x32, RowshardError, type StreamKey, uint32ToOpenUnit } from '@rowshard/core';
import { Tensor } from '../tensor.js';

export function relu(x: Tensor): Tensor {
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(x.data[i], 0);
  const result: Tensor = new Tensor(x.shape, out, {
    parents: [x],
    backward: () => {
      const g = result.grad as Float32Array;
      const gx = x.gradBuffer();
      for (let i = 0; i < gx.length; i++) if (x.data[i] > 0) gx[i] += g[i];
    },
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
  const out = new Float32Array(a.size);
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
  const out = new Float32Array(a.size);
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
  const keep = new Uint8Array(x.size);
  const scale = 1 / (1 - p);
  const block = new Uint32Array(4);
  for (let i = 0; i < x.size; i += 4) {
    philox4x32(key.k0, key.k1, i >>> 2, counter >>> 0, Math.floor(counter / 4294967296), 0x0d70, block);
    for (let j = 0; j < 4 && i + j < x.size; j++) keep[i + j] = uint32ToOpenUnit(block[j]) >= p ? 1 : 0;
  }
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = keep[i] ? x.data[i] * scale : 0;
  const result: Tensor = new Tensor(x.shape, out, {
    parents: [x],
    backward: () => {
      const g = result.grad as Float32Array;
      const gx = x.gradBuffer();
      for (let i = 0; i < gx.length; i++) if (keep[i]) gx[i] += g[i] * scale;
    },
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
