import { addRow, addScaledRow, dedupeIds } from '@rowshard/core';
import type { RowSource } from '../row-source.js';
import { validateIndices } from '../row-source.js';
import { type IndexTensor, Tensor } from '../tensor.js';
import { emitWithoutPadding } from './embedding.js';

/**
 * embedding(x).mean(dim=1) for x [B, L] in one pass: out [B, dim]. The same numbers as an
 * embeddingLookup followed by meanDim (same summation order), without materialising the
 * [B, L, dim] intermediate: the text classifier's hot path. Padding positions count in the
 * mean (as in the seed model) and get no gradient.
 */
export function embeddingMean(source: RowSource, indices: IndexTensor): Tensor {
  const spec = source.spec;
  const dim = spec.embeddingDim;
  if (indices.shape.length !== 2) throw new RangeError(`embeddingMean needs [B, L] indices, got [${indices.shape.join(', ')}]`);
  const [bags, len] = indices.shape;
  validateIndices(spec, indices.data);
  const { unique, inverse, counts } = dedupeIds(indices.data);
  const rows = source.fetchRows(unique);
  const out = new Float32Array(bags * dim);
  const acc = new Float64Array(dim);
  for (let b = 0; b < bags; b++) {
    acc.fill(0);
    for (let l = 0; l < len; l++) addRow(rows, inverse[b * len + l] * dim, acc, 0, dim);
    for (let d = 0; d < dim; d++) out[b * dim + d] = acc[d] / len;
  }
  const result: Tensor = new Tensor([bags, dim], out, {
    requiresGrad: source.trainable,
    backward: () => {
      const G = result.grad as Float32Array;
      const sums = new Float32Array(unique.length * dim);
      const scale = 1 / len;
      for (let b = 0; b < bags; b++) {
        const g = b * dim;
        for (let l = 0; l < len; l++) addScaledRow(G, g, sums, inverse[b * len + l] * dim, dim, scale);
      }
      if (spec.scaleGradByFreq) {
        for (let u = 0; u < unique.length; u++) for (let d = 0; d < dim; d++) sums[u * dim + d] /= counts[u];
      }
      emitWithoutPadding(source, unique, sums, dim);
    },
  });
  return result;
}
