import { describe, expect, it } from 'vitest';
import { HashedIndex } from './hashed-index.js';

describe('HashedIndex', () => {
  it('grows past its initial capacity and keeps every mapping', () => {
    const index = new HashedIndex(16);
    for (let i = 0; i < 10_000; i++) expect(index.getOrInsert(i, i ^ 0x5555)).toBe(i);
    expect(index.capacity).toBeGreaterThanOrEqual(10_000 / 0.7);
    for (let i = 0; i < 10_000; i++) expect(index.get(i, i ^ 0x5555)).toBe(i);
    expect(index.get(1, 1)).toBe(-1);
  });

  it('removes ids without breaking the probe runs of the others, and reuses their slots last freed first', () => {
    // A small table forces long probe runs and wrap-around, where backward-shift deletion can go wrong.
    const index = new HashedIndex(16);
    const live = new Map<string, number>();
    let x = 12345;
    const next = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x;
    };
    for (let round = 0; round < 20_000; round++) {
      const lo = next() % 64;
      const hi = next() % 3;
      const key = `${lo}:${hi}`;
      if (next() % 3 === 0) {
        const slot = index.remove(lo, hi);
        expect(slot).toBe(live.get(key) ?? -1);
        live.delete(key);
      } else {
        const slot = index.getOrInsert(lo, hi);
        if (live.has(key)) expect(slot).toBe(live.get(key));
        live.set(key, slot);
      }
      expect(index.size).toBe(live.size);
    }
    for (const [key, slot] of live) {
      const [lo, hi] = key.split(':').map(Number);
      expect(index.get(lo, hi)).toBe(slot);
    }
    // Slots stay dense: never more handed out than ids ever held at once.
    const slots = [...live.values()];
    expect(new Set(slots).size).toBe(slots.length);
    expect(index.slotsUsed).toBeLessThanOrEqual(192);
    const a = index.getOrInsert(1000, 7);
    const freed = index.remove(1000, 7);
    expect(freed).toBe(a);
    expect(index.getOrInsert(1001, 7)).toBe(a);
  });
});
