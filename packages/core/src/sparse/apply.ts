import { dedupeIds } from '../dedupe.js';
import type { SparseRowOptimizer, SparseStepContext } from './kernels.js';

/**
 * Where a table's rows and their optimizer state live, slot by slot: one Float32Array for a
 * whole table (single-process mode, tests) or pages of them (a parameter server's RowStore).
 */
export interface RowSlots {
  weightPage(slot: number): Float32Array;
  weightOffset(slot: number): number;
  statePage(slot: number): Float32Array;
  stateOffset(slot: number): number;
}

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

/** A DenseTableState seen slot by slot: slot = row. */
export function denseTableSlots(table: DenseTableState, optimizer: SparseRowOptimizer): RowSlots {
  const dim = optimizer.dim;
  const stride = optimizer.stateFloatsPerRow;
  return {
    weightPage: () => table.weights,
    weightOffset: (slot) => slot * dim,
    statePage: () => table.state,
    stateOffset: (slot) => slot * stride,
  };
}

/**
 * One sparse optimizer step over rows addressed by slot: gradient rows of duplicate slots are
 * summed in input order first (as PyTorch coalesces a sparse gradient), then each distinct
 * slot is updated once. Positions with `include[i] === 0` (the padding row) take no part.
 * Returns the number of rows updated. The one loop behind single-process training and every
 * parameter server.
 */
export function applySparseRows(
  optimizer: SparseRowOptimizer,
  target: RowSlots,
  slots: ArrayLike<number>,
  grads: Float32Array,
  ctx: SparseStepContext,
  include: Uint8Array | null = null,
): number {
  const dim = optimizer.dim;
  const n = slots.length;
  const { unique, inverse } = dedupeIds(slots);
  const update = (slot: number, rows: Float32Array, at: number) =>
    optimizer.updateRow(
      target.weightPage(slot),
      target.weightOffset(slot),
      target.statePage(slot),
      target.stateOffset(slot),
      rows,
      at,
      ctx,
    );
  if (unique.length === n && include === null) {
    for (let i = 0; i < n; i++) update(slots[i], grads, i * dim);
    return n;
  }
  const summed = new Float32Array(unique.length * dim);
  const taken = new Uint8Array(unique.length);
  for (let i = 0; i < n; i++) {
    if (include !== null && include[i] === 0) continue;
    const u = inverse[i];
    taken[u] = 1;
    const dst = u * dim;
    const src = i * dim;
    for (let d = 0; d < dim; d++) summed[dst + d] += grads[src + d];
  }
  let updated = 0;
  for (let u = 0; u < unique.length; u++) {
    if (taken[u] === 0) continue;
    update(unique[u], summed, u * dim);
    updated++;
  }
  return updated;
}

/** applySparseRows on a whole-table state; `skipRow` (the padding row) is never touched. */
export function applySparseGradient(
  optimizer: SparseRowOptimizer,
  table: DenseTableState,
  ids: ArrayLike<number>,
  grads: Float32Array,
  ctx: SparseStepContext,
  skipRow: number | null = null,
): number {
  let include: Uint8Array | null = null;
  if (skipRow !== null) {
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== skipRow) continue;
      include ??= new Uint8Array(ids.length).fill(1);
      include[i] = 0;
    }
  }
  return applySparseRows(optimizer, denseTableSlots(table, optimizer), ids, grads, ctx, include);
}
