import { addScaledRow, copyRow, philox4x32, uint32ToOpenUnit } from '@rowshard/core';
import { idTreeSumsInJs } from './id-tree.js';
import type { BagMode, Kernels } from './kernels.js';

const maskBlock = new Uint32Array(4);

/**
 * The reference kernels: loops over plain arrays, sums in float64 rounded once. Used outside
 * a step arena, and by the tests that hold the WebAssembly kernels to them. The Linear loops
 * work on four rows of W (forward) or four terms (backward) at a time, so each load of x or
 * of a gradient row serves four multiply-adds (about 1.8× the plain triple loop).
 */
export const jsKernels: Kernels = {
  name: 'js',

  linearForward(x, w, b, out, rows, inF, outF) {
    matmulTransposed(x, w, b, out, rows, inF, outF);
  },

  linearGradInput(g, w, gx, rows, inF, outF) {
    gradInput(g, w, gx, rows, inF, outF);
  },

  linearGradWeight(g, x, gw, gb, rows, inF, outF) {
    gradWeight(g, x, gw, rows, inF, outF);
    if (gb) for (let r = 0; r < rows; r++) for (let o = 0; o < outF; o++) gb[o] += g[r * outF + o];
  },

  reluForward(x, out) {
    for (let i = 0; i < x.length; i++) out[i] = Math.max(x[i], 0);
  },

  reluBackward(out, g, gx) {
    for (let i = 0; i < out.length; i++) if (out[i] > 0) gx[i] += g[i];
  },

  dropoutMask(out, key, counter, p) {
    const scale = Math.fround(1 / (1 - p));
    const block = maskBlock;
    for (let i = 0; i < out.length; i += 4) {
      philox4x32(key.k0, key.k1, i >>> 2, counter >>> 0, Math.floor(counter / 4294967296), 0x0d70, block);
      for (let j = 0; j < 4 && i + j < out.length; j++) out[i + j] = uint32ToOpenUnit(block[j]) >= p ? scale : 0;
    }
  },

  mul(x, scale, out) {
    for (let i = 0; i < x.length; i++) out[i] = x[i] * scale[i];
  },

  mulAdd(x, scale, acc) {
    for (let i = 0; i < x.length; i++) acc[i] += x[i] * scale[i];
  },

  softmaxCrossEntropy(logits, targets, probs, n, c) {
    let total = 0;
    for (let r = 0; r < n; r++) {
      let max = logits[r * c];
      for (let k = 1; k < c; k++) max = Math.max(max, logits[r * c + k]);
      let sum = 0;
      for (let k = 0; k < c; k++) {
        const e = Math.exp(logits[r * c + k] - max);
        probs[r * c + k] = e;
        sum += e;
      }
      for (let k = 0; k < c; k++) probs[r * c + k] /= sum;
      total += -(logits[r * c + targets[r]] - max - Math.log(sum));
    }
    return total / n;
  },

  softmaxCrossEntropyBackward(probs, targets, g, gl, n, c) {
    const s = g / n;
    for (let r = 0; r < n; r++) {
      for (let k = 0; k < c; k++) gl[r * c + k] += s * (probs[r * c + k] - (k === targets[r] ? 1 : 0));
    }
  },

  bagForward(mode: BagMode, offsets, rowIndex, perSample, rows, out, argmax, dim) {
    const bags = offsets.length - 1;
    const acc = new Float64Array(dim);
    for (let b = 0; b < bags; b++) {
      const start = offsets[b];
      const end = offsets[b + 1];
      if (mode === 'max') {
        for (let d = 0; d < dim; d++) {
          let best = 0;
          let at = -1;
          for (let p = start; p < end; p++) {
            const v = rows[rowIndex[p] * dim + d];
            if (at < 0 || v > best) {
              best = v;
              at = p;
            }
          }
          out[b * dim + d] = best;
          if (argmax) argmax[b * dim + d] = at;
        }
        continue;
      }
      acc.fill(0);
      for (let p = start; p < end; p++) addScaledRow(rows, rowIndex[p] * dim, acc, 0, dim, perSample ? perSample[p] : 1);
      const n = mode === 'mean' && end > start ? end - start : 1;
      for (let d = 0; d < dim; d++) out[b * dim + d] = acc[d] / n;
    }
  },

  bagBackward(mode: BagMode, offsets, rowIndex, perSample, gradOut, gradRows, argmax, dim) {
    const bags = offsets.length - 1;
    for (let b = 0; b < bags; b++) {
      const start = offsets[b];
      const end = offsets[b + 1];
      if (mode === 'max') {
        for (let d = 0; d < dim; d++) {
          const p = argmax ? argmax[b * dim + d] : -1;
          if (p >= 0) gradRows[rowIndex[p] * dim + d] += gradOut[b * dim + d];
        }
        continue;
      }
      if (end <= start) continue;
      const scale = mode === 'sum' ? 1 : 1 / (end - start);
      for (let p = start; p < end; p++)
        addScaledRow(gradOut, b * dim, gradRows, rowIndex[p] * dim, dim, perSample ? scale * perSample[p] : scale);
    }
  },

  idTreeBagSums(bounds, rowIndex, leafOf, rows, out, dim) {
    idTreeSumsInJs(
      bounds,
      Float64Array.from(rowIndex, (r) => r * dim),
      leafOf,
      rows,
      out,
      dim,
    );
  },

  gatherRows(src, index, out, dim) {
    for (let i = 0; i < index.length; i++) copyRow(src, index[i] * dim, out, i * dim, dim);
  },

  scatterAddRows(src, index, dst, dim, scale) {
    for (let i = 0; i < index.length; i++) addScaledRow(src, i * dim, dst, index[i] * dim, dim, scale);
  },
};

/** out[r, o] = b[o] + Σ_i X[r, i]·W[o, i], four outputs per pass over a row of X. */
function matmulTransposed(
  X: Float32Array,
  W: Float32Array,
  b: Float32Array | null,
  out: Float32Array,
  rows: number,
  inF: number,
  outF: number,
): void {
  for (let r = 0; r < rows; r++) {
    const xo = r * inF;
    const oo = r * outF;
    let o = 0;
    for (; o + 3 < outF; o += 4) {
      const w0 = o * inF;
      const w1 = w0 + inF;
      const w2 = w1 + inF;
      const w3 = w2 + inF;
      let a0 = b ? b[o] : 0;
      let a1 = b ? b[o + 1] : 0;
      let a2 = b ? b[o + 2] : 0;
      let a3 = b ? b[o + 3] : 0;
      for (let i = 0; i < inF; i++) {
        const xv = X[xo + i];
        a0 += xv * W[w0 + i];
        a1 += xv * W[w1 + i];
        a2 += xv * W[w2 + i];
        a3 += xv * W[w3 + i];
      }
      out[oo + o] = a0;
      out[oo + o + 1] = a1;
      out[oo + o + 2] = a2;
      out[oo + o + 3] = a3;
    }
    for (; o < outF; o++) {
      const wo = o * inF;
      let acc = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) acc += X[xo + i] * W[wo + i];
      out[oo + o] = acc;
    }
  }
}

/** gX[r, :] += Σ_o G[r, o]·W[o, :], four rows of W per pass over gX's row. */
function gradInput(G: Float32Array, W: Float32Array, gx: Float32Array, rows: number, inF: number, outF: number): void {
  for (let r = 0; r < rows; r++) {
    const xo = r * inF;
    const go = r * outF;
    let o = 0;
    for (; o + 3 < outF; o += 4) {
      const g0 = G[go + o];
      const g1 = G[go + o + 1];
      const g2 = G[go + o + 2];
      const g3 = G[go + o + 3];
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
      const w0 = o * inF;
      const w1 = w0 + inF;
      const w2 = w1 + inF;
      const w3 = w2 + inF;
      for (let i = 0; i < inF; i++) gx[xo + i] += g0 * W[w0 + i] + g1 * W[w1 + i] + g2 * W[w2 + i] + g3 * W[w3 + i];
    }
    for (; o < outF; o++) {
      const g = G[go + o];
      if (g === 0) continue;
      const wo = o * inF;
      for (let i = 0; i < inF; i++) gx[xo + i] += g * W[wo + i];
    }
  }
}

/** gW[o, :] += Σ_r G[r, o]·X[r, :], four rows of X per pass over gW's row. */
function gradWeight(G: Float32Array, X: Float32Array, gw: Float32Array, rows: number, inF: number, outF: number): void {
  for (let o = 0; o < outF; o++) {
    const wo = o * inF;
    let r = 0;
    for (; r + 3 < rows; r += 4) {
      const g0 = G[r * outF + o];
      const g1 = G[(r + 1) * outF + o];
      const g2 = G[(r + 2) * outF + o];
      const g3 = G[(r + 3) * outF + o];
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
      const x0 = r * inF;
      const x1 = x0 + inF;
      const x2 = x1 + inF;
      const x3 = x2 + inF;
      for (let i = 0; i < inF; i++) gw[wo + i] += g0 * X[x0 + i] + g1 * X[x1 + i] + g2 * X[x2 + i] + g3 * X[x3 + i];
    }
    for (; r < rows; r++) {
      const g = G[r * outF + o];
      if (g === 0) continue;
      const xo = r * inF;
      for (let i = 0; i < inF; i++) gw[wo + i] += g * X[xo + i];
    }
  }
}
