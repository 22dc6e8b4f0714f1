import { copyRow, ErrorCodes, RowshardError } from '@rowshard/core';
import { allocF32 } from '../step-scope.js';
import { Tensor } from '../tensor.js';

function splitAt(shape: readonly number[], dim: number): { outer: number; size: number; inner: number } {
  const d = dim < 0 ? dim + shape.length : dim;
  if (d < 0 || d >= shape.length) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `dimension ${dim} out of range for shape [${shape.join(', ')}]`);
  }
  let outer = 1;
  for (let i = 0; i < d; i++) outer *= shape[i];
  let inner = 1;
  for (let i = d + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, size: shape[d], inner };
}

/** Sum (or mean) over one dimension, which is removed, as torch.sum(x, dim) / x.mean(dim). */
function reduceDim(x: Tensor, dim: number, mean: boolean): Tensor {
  const { outer, size, inner } = splitAt(x.shape, dim);
  const d = dim < 0 ? dim + x.shape.length : dim;
  const scale = mean ? 1 / size : 1;
  const out = allocF32(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      let acc = 0;
      for (let s = 0; s < size; s++) acc += x.data[(o * size + s) * inner + k];
      out[o * inner + k] = mean ? acc / size : acc;
    }
  }
  const shape = x.shape.filter((_, i) => i !== d);
  const result: Tensor = new Tensor(shape, out, {
    parents: [x],
    backward: () => {
      const g = result.grad as Float32Array;
      const gx = x.gradBuffer();
      for (let o = 0; o < outer; o++) {
        for (let s = 0; s < size; s++) {
          const base = (o * size + s) * inner;
          for (let k = 0; k < inner; k++) gx[base + k] += g[o * inner + k] * scale;
        }
      }
    },
  });
  return result;
}

export function sumDim(x: Tensor, dim: number): Tensor {
  return reduceDim(x, dim, false);
}

export function meanDim(x: Tensor, dim: number): Tensor {
  return reduceDim(x, dim, true);
}

/** Concatenation along the last dimension (the CategoryModel's torch.cat(..., dim=1)). */
export function concatLast(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) throw new RowshardError(ErrorCodes.BAD_SHAPE, 'concat of nothing');
  const lead = parts[0].shape.slice(0, -1);
  for (const p of parts) {
    const pl = p.shape.slice(0, -1);
    if (pl.length !== lead.length || pl.some((d, i) => d !== lead[i])) {
      throw new RowshardError(ErrorCodes.BAD_SHAPE, `concat: leading shapes differ: [${lead.join(', ')}] vs [${pl.join(', ')}]`);
    }
  }
  const widths = parts.map((p) => p.shape[p.shape.length - 1]);
  const total = widths.reduce((a, b) => a + b, 0);
  const rows = parts[0].size / widths[0];
  const out = allocF32(rows * total);
  let col = 0;
  for (let p = 0; p < parts.length; p++) {
    const w = widths[p];
    for (let r = 0; r < rows; r++) copyRow(parts[p].data, r * w, out, r * total + col, w);
    col += w;
  }
  const result: Tensor = new Tensor([...lead, total], out, {
    parents: parts,
    backward: () => {
      const g = result.grad as Float32Array;
      let c = 0;
      for (let p = 0; p < parts.length; p++) {
        const w = widths[p];
        if (parts[p].requiresGrad) {
          const gp = parts[p].gradBuffer();
          for (let r = 0; r < rows; r++) for (let k = 0; k < w; k++) gp[r * w + k] += g[r * total + c + k];
        }
        c += w;
      }
    },
  });
  return result;
}

/** sum(a * b, dim=-1): the recommender's user·item score. */
export function rowDot(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `rowDot: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
  const dim = a.shape[a.shape.length - 1];
  const rows = a.size / dim;
  const out = allocF32(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let k = 0; k < dim; k++) acc += a.data[r * dim + k] * b.data[r * dim + k];
    out[r] = acc;
  }
  const result: Tensor = new Tensor(a.shape.slice(0, -1), out, {
    parents: [a, b],
    backward: () => {
      const g = result.grad as Float32Array;
      if (a.requiresGrad) {
        const ga = a.gradBuffer();
        for (let r = 0; r < rows; r++) for (let k = 0; k < dim; k++) ga[r * dim + k] += g[r] * b.data[r * dim + k];
      }
      if (b.requiresGrad) {
        const gb = b.gradBuffer();
        for (let r = 0; r < rows; r++) for (let k = 0; k < dim; k++) gb[r * dim + k] += g[r] * a.data[r * dim + k];
      }
    },
  });
  return result;
}
