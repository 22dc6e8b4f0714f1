import { copyRow, dedupeIds } from '@rowshard/core';
import type { RowSource } from '../row-source.js';
import { validateIndices } from '../row-source.js';
import { type IndexTensor, Tensor } from '../tensor.js';

/**
 * nn.Embedding's forward for indices of any shape: output [...indices.shape, dim].
 * Distinct ids are fetched once; the backward sums the upstream gradient per distinct id
 * (what PyTorch's sparse gradient coalesces to), drops the padding row, divides by the id's
 * count in this call when scale_grad_by_freq is set, and hands the result to the source.
 */
export function embeddingLookup(source: RowSource, indices: IndexTensor): Tensor {
  const spec = source.spec;
  const dim = spec.embeddingDim;
  validateIndices(spec, indices.data);
  const { unique, inverse, counts } = dedupeIds(indices.data);
  const rows = source.fetchRows(unique);
  const n = indices.data.length;
  const out = new Float32Array(n * dim);
  for (let p = 0; p < n; p++) {
    copyRow(rows, inverse[p] * dim, out, p * dim, dim);
  }
  const result: Tensor = new Tensor([...indices.shape, dim], out, {
    requiresGrad: source.trainable,
    backward: () => {
      const G = result.grad as Float32Array;
      const sums = new Float32Array(unique.length * dim);
      for (let p = 0; p < n; p++) {
        const dst = inverse[p] * dim;
        const src = p * dim;
        for (let d = 0; d < dim; d++) sums[dst + d] += G[src + d];
      }
      if (spec.scaleGradByFreq) {
        for (let u = 0; u < unique.length; u++) {
          const c = counts[u];
          for (let d = 0; d < dim; d++) sums[u * dim + d] /= c;
        }
      }
      emitWithoutPadding(source, unique, sums, dim);
    },
  });
  return result;
}

/** Passes a per-distinct-id gradient to the source, leaving out the padding row. */
export function emitWithoutPadding(source: RowSource, unique: Float64Array, sums: Float32Array, dim: number): void {
  const pad = source.spec.paddingIdx;
  const at = pad === null ? -1 : unique.indexOf(pad);
  if (at < 0) {
    source.addSparseGrad(unique, sums);
    return;
  }
  const ids = new Float64Array(unique.length - 1);
  const rows = new Float32Array((unique.length - 1) * dim);
  ids.set(unique.subarray(0, at));
  ids.set(unique.subarray(at + 1), at);
  rows.set(sums.subarray(0, at * dim));
  rows.set(sums.subarray((at + 1) * dim), at * dim);
  source.addSparseGrad(ids, rows);
}
