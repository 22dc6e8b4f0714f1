import { ErrorCodes, RowshardError } from '@rowshard/core';
import type { RowSource } from '../row-source.js';
import { allocF32, kernels } from '../step-scope.js';
import { type IndexTensor, Tensor } from '../tensor.js';
import { addRowGradients } from './embedding.js';
import { bagBounds, pooledTensor } from './embedding-bag.js';
import { idTreeBagForward, idTreeLeavesOf, inIdTreeOrder } from './id-tree-bag.js';

/**
 * embedding(x).mean(dim=1) for x [B, L] in one pass: out [B, dim]. The same numbers as an
 * embeddingLookup followed by meanDim, without materialising the [B, L, dim] intermediate:
 * the text classifier's hot path, one EmbeddingBag mean kernel each way. Padding positions
 * count in the mean (as in the seed model) and their row takes no update (the optimizer
 * skips the padding row).
 */
export function embeddingMean(source: RowSource, indices: IndexTensor): Tensor {
  const spec = source.spec;
  const dim = spec.embeddingDim;
  if (indices.shape.length !== 2) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `embeddingMean needs [B, L] indices, got [${indices.shape.join(', ')}]`);
  }
  const bags = indices.shape[0];
  const offsets = bagBounds(indices, {}, spec.name);
  const pooled = source.pooled?.(indices.data, offsets, 'mean');
  if (pooled) return pooledTensor(pooled, bags, dim);
  const lookup = source.lookup(indices.data);
  const out = allocF32(bags * dim);
  if (inIdTreeOrder(source, indices.data))
    idTreeBagForward('mean', idTreeLeavesOf(indices.data), offsets, lookup.rowOf, lookup.rows, out, dim);
  else kernels().bagForward('mean', offsets, lookup.rowOf, null, lookup.rows, out, null, dim);
  const result: Tensor = new Tensor([bags, dim], out, {
    requiresGrad: lookup.grad !== null,
    backward: () => {
      const G = result.grad as Float32Array;
      addRowGradients(lookup, dim, spec.scaleGradByFreq, (into) =>
        kernels().bagBackward('mean', offsets, lookup.rowOf, null, G, into, null, dim),
      );
    },
  });
  return result;
}
