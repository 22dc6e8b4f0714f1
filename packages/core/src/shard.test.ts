import { describe, expect, it } from 'vitest';
import { denseRowsOnShard, localSlotOfDense, shardOf, shardOfDense } from './shard.js';

describe('shardOf', () => {
  it('spreads dense ids by modulo and packs each shard densely', () => {
    const n = 3;
    const counts = [0, 0, 0];
    for (let r = 0; r < 100; r++) {
      const s = shardOfDense(r, n);
      expect(localSlotOfDense(r, n)).toBe(counts[s]);
      counts[s]++;
    }
    expect(counts).toEqual([0, 1, 2].map((s) => denseRowsOnShard(100, s, n)));
  });

  it('spreads structured hashed ids evenly (multiples of 1000)', () => {
    const n = 4;
    const counts = new Array(n).fill(0);
    for (let i = 0; i < 40000; i++) counts[shardOf({ kind: 'hashed' }, BigInt(i) * 1000n, n)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
  });

  it('uses all 64 bits of a hashed id', () => {
    const lo = shardOf({ kind: 'hashed' }, 5n, 1 << 20);
    expect(shardOf({ kind: 'hashed' }, 5n | (1n << 40n), 1 << 20)).not.toBe(lo);
    expect(shardOf({ kind: 'hashed' }, 5n, 1 << 20)).toBe(lo);
  });
});
