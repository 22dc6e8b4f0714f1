import type { RowLookup, RowSource } from '../row-source.js';
import { allocF32, allocI32, kernels } from '../step-scope.js';
import { type IndexTensor, Tensor } from '../tensor.js';

/**
 * nn.Embedding's forward for indices of any shape: output [...indices.shape, dim]. The
 * source gives each position its row; the backward adds the upstream gradient into the
 * lookup's gradient rows (summed per row in position order, what PyTorch's sparse gradient
 * coalesces to), divided by the id's count in this call when scale_grad_by_freq is set.
 */
export function embeddingLookup(source: RowSource, indices: IndexTensor): Tensor {
  const spec = source.spec;
  const dim = spec.embeddingDim;
  const lookup = source.lookup(indices.data);
  const n = indices.data.length;
  const out = allocF32(n * dim);
  kernels().gatherRows(lookup.rows, lookup.rowOf, out, dim);
  const result: Tensor = new Tensor([...indices.shape, dim], out, {
    requiresGrad: lookup.grad !== null,
    backward: () => {
      const G = result.grad as Float32Array;
      addRowGradients(lookup, dim, spec.scaleGradByFreq, (into) => kernels().scatterAddRows(G, lookup.rowOf, into, dim, 1));
    },
  });
  return result;
}

/**
 * Adds a lookup's gradient into its gradient rows: `accumulate(into)` adds each position's
 * contribution into `into` (the lookup's rows layout). With scale_grad_by_freq each row's sum
 * is divided by how often its id occurs in this lookup, as PyTorch divides the coalesced row.
 */
export function addRowGradients(
  lookup: RowLookup,
  dim: number,
  scaleGradByFreq: boolean,
  accumulate: (into: Float32Array) => void,
): void {
  const grad = lookup.grad;
  if (!grad) return;
  if (!scaleGradByFreq) accumulate(grad);
  else {
    const rows = grad.length / dim;
    const sums = allocF32(grad.length);
    accumulate(sums);
    const counts = allocI32(rows);
    for (let p = 0; p < lookup.rowOf.length; p++) counts[lookup.rowOf[p]]++;
    for (let r = 0; r < rows; r++) {
      const c = counts[r];
      if (c === 0) continue;
      for (let d = 0; d < dim; d++) grad[r * dim + d] += sums[r * dim + d] / c;
    }
  }
  lookup.gradientFlowed();
}
