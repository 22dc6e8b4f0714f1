import { coalesceRows } from '../dedupe.js';
import type { SparseRowOptimizer, SparseStepContext } from './kernels.js';

/**
 * A whole table held in one Float32Array (single-process mode, tests) with its optimizer
 * state beside it. The parameter server keeps the same layout per page instead.
 */
export interface DenseTableState {
  readonly weights: Float32Array;
  readonly state: Float32Array;
}

export function createTableState(optimizer: SparseRowOptimizer, weights: Float32Array): DenseTableState {
  const rows = weights.length / optimizer.dim;
  const state = new Float32Array(rows * optimizer.stateFloatsPerRow);
  for (let r = 0; r < rows; r++) optimizer.initState(state, r * optimizer.stateFloatsPerRow);
  return { weights, state };
}

/**
 * One sparse optimizer step: coalesce duplicate ids (as PyTorch does), then update each
 * distinct row once. Rows in `skipRows` (the padding row) are never touched.
 */
export function applySparseGradient(
  optimizer: SparseRowOptimizer,
  table: DenseTableState,
  ids: ArrayLike<number>,
  grads: Float32Array,
  ctx: SparseStepContext,
  skipRow: number | null = null,
): void {
  const dim = optimizer.dim;
  const stride = optimizer.stateFloatsPerRow;
  const coalesced = coalesceRows(ids, grads, dim);
  for (let i = 0; i < coalesced.ids.length; i++) {
    const row = coalesced.ids[i];
    if (row === skipRow) continue;
    optimizer.updateRow(table.weights, row * dim, table.state, row * stride, coalesced.rows, i * dim, ctx);
  }
}
