import { addRow } from '../copy-row.js';
import { dedupeIds } from '../dedupe.js';
import type { SparseRowOptimizer, SparseStepContext } from './kernels.js';

/** A whole table in one Float32Array with its optimizer state beside it. */
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
 * One sparse optimizer step on a whole table: gradient rows of duplicate ids are summed in
 * input order first (as PyTorch coalesces a sparse gradient), then each distinct row is
 * updated once; `skipRow` (the padding row) is never touched. Returns the rows updated. The
 * float64 JavaScript reference behind single-process training and the parity tests; a
 * parameter server runs the same arithmetic as WebAssembly kernels (ps/src/row-kernels.ts).
 */
export function applySparseGradient(
  optimizer: SparseRowOptimizer,
  table: DenseTableState,
  ids: ArrayLike<number>,
  grads: Float32Array,
  ctx: SparseStepContext,
  skipRow: number | null = null,
): number {
  const dim = optimizer.dim;
  const stride = optimizer.stateFloatsPerRow;
  const { weights, state } = table;
  const n = ids.length;
  const { unique, inverse } = dedupeIds(ids);
  let skipped = false;
  if (skipRow !== null) for (let u = 0; u < unique.length && !skipped; u++) skipped = unique[u] === skipRow;
  if (unique.length === n && !skipped) {
    for (let i = 0; i < n; i++) optimizer.updateRow(weights, ids[i] * dim, state, ids[i] * stride, grads, i * dim, ctx);
    return n;
  }
  const summed = new Float32Array(unique.length * dim);
  for (let i = 0; i < n; i++) addRow(grads, i * dim, summed, inverse[i] * dim, dim);
  let updated = 0;
  for (let u = 0; u < unique.length; u++) {
    const row = unique[u];
    if (row === skipRow) continue;
    optimizer.updateRow(weights, row * dim, state, row * stride, summed, u * dim, ctx);
    updated++;
  }
  return updated;
}
