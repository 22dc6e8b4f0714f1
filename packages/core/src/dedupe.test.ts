import { describe, expect, it } from 'vitest';
import { coalesceRows, dedupeIds } from './dedupe.js';

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

  it('sums duplicate gradient rows', () => {
    const c = coalesceRows([1, 4, 1], Float32Array.from([1, 2, 10, 20, 100, 200]), 2);
    expect([...c.ids]).toEqual([1, 4]);
    expect([...c.rows]).toEqual([101, 202, 10, 20]);
  });
});
