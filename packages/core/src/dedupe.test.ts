import { describe, expect, it } from 'vitest';
import { dedupeIds } from './dedupe.js';
import { applySparseGradient, createTableState } from './sparse/apply.js';
import { parseSparseOptimizerConfig } from './sparse/config.js';
import { sparseRowOptimizer } from './sparse/kernels.js';

describe('dedupe and coalesce', () => {
  it('keeps first-occurrence order and counts', () => {
    const d = dedupeIds([7, 2, 2, 9, 7, 2]);
    expect([...d.unique]).toEqual([7, 2, 9]);
    expect([...d.inverse]).toEqual([0, 1, 1, 2, 0, 1]);
    expect([...d.counts]).toEqual([2, 3, 1]);
  });

  it('handles ids beyond 2^32', () => {
    const big = 2 ** 40 + 3;
    const d = dedupeIds([big, 3, big]);
    expect([...d.unique]).toEqual([big, 3]);
  });

  it('sums duplicate gradient rows in input order before one update per row, skipping the padding row', () => {
    // SGD with lr -1 adds the coalesced gradient to the row: what it adds is the sum.
    const opt = sparseRowOptimizer(parseSparseOptimizerConfig({ kind: 'sgd', lr: 1 }), 2);
    const table = createTableState(opt, new Float32Array(10));
    const grads = Float32Array.from([1, 2, 10, 20, 100, 200, 7, 7]);
    const updated = applySparseGradient(opt, table, [1, 4, 1, 3], grads, { lr: -1, step: 1 }, 3);
    expect(updated).toBe(2);
    expect([...table.weights]).toEqual([0, 0, 101, 202, 0, 0, 0, 0, 10, 20]);
  });
});
