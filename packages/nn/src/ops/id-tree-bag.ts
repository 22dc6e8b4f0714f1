import type { RowIds } from '@rowshard/core';
import { idTreeLeaves } from '@rowshard/kernels';
import type { RowSource } from '../row-source.js';
import { allocI32, kernels } from '../step-scope.js';

/** Whether a bag of `ids` from `source` is summed in the id tree's order: the source asks for it, and the ids are a dense table's numbers. */
export function inIdTreeOrder(source: RowSource, ids: RowIds): ids is Exclude<RowIds, BigUint64Array> {
  return source.bagOrder === 'idTree' && source.spec.kind === 'dense' && !(ids instanceof BigUint64Array);
}

/** Each position's leaf of the id tree (its id mod 16), in step memory. */
export function idTreeLeavesOf(ids: ArrayLike<number>): Int32Array {
  return idTreeLeaves(ids, ids.length, allocI32(ids.length));
}

/**
 * EmbeddingBag's sum or mean forward [bags, dim] in the id tree's order (kernels' id-tree.ts):
 * position p of bag b (offsets[b] ≤ p < offsets[b+1]) is in leaf leafOf[p] and reads row
 * rowOf[p] of `rows`. A mean divides each sum by its bag's length, in float32, as the bag
 * kernels do.
 */
export function idTreeBagForward(
  mode: 'sum' | 'mean',
  leafOf: Int32Array,
  offsets: Int32Array,
  rowOf: Int32Array,
  rows: Float32Array,
  out: Float32Array,
  dim: number,
): void {
  const bags = offsets.length - 1;
  kernels().idTreeBagSums(offsets, rowOf, leafOf, rows, out, dim);
  if (mode === 'sum') return;
  for (let b = 0; b < bags; b++) {
    const len = offsets[b + 1] - offsets[b];
    if (len > 1) for (let k = b * dim; k < (b + 1) * dim; k++) out[k] /= len;
  }
}
