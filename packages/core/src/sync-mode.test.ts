import { describe, expect, it } from 'vitest';
import { parseSyncMode, poolsBags, prefetches } from './sync-mode.js';

describe('sync.poolBags', () => {
  it('pools in ASP and SSP without a row cache, and in BSP on 1, 2, 4, 8 or 16 shards (where the id tree splits)', () => {
    expect(poolsBags(parseSyncMode('asp'), 4)).toBe(true);
    expect(poolsBags(parseSyncMode({ mode: 'ssp', staleness: 2, cacheSteps: 0 }), 4)).toBe(true);
    expect(poolsBags(parseSyncMode({ mode: 'ssp', staleness: 2 }), 1)).toBe(false); // cacheSteps defaults to 2
    expect(poolsBags(parseSyncMode({ mode: 'asp', cacheSteps: 1 }), 1)).toBe(false);
    expect(poolsBags(parseSyncMode('bsp'), 1)).toBe(true);
    for (const n of [2, 4, 16]) expect(poolsBags(parseSyncMode('bsp'), n)).toBe(true);
    for (const n of [3, 6, 32]) expect(poolsBags(parseSyncMode('bsp'), n)).toBe(false);
    expect(poolsBags(parseSyncMode({ mode: 'asp', poolBags: false }), 1)).toBe(false);
  });

  it('is true or false, and named where it is not', () => {
    expect(() => parseSyncMode({ mode: 'asp', poolBags: 'maybe' })).toThrow('sync.poolBags: must be true or false, got "maybe"');
    expect(parseSyncMode({ mode: 'bsp', poolBags: false })).toEqual({ mode: 'bsp', poolBags: false });
  });
});

describe('sync.prefetch', () => {
  it("is ASP's, off unless set", () => {
    expect(prefetches(parseSyncMode('asp'))).toBe(false);
    expect(prefetches(parseSyncMode({ mode: 'asp', cacheSteps: 2, prefetch: true }))).toBe(true);
    expect(prefetches(parseSyncMode({ mode: 'asp', prefetch: false }))).toBe(false);
    expect(prefetches(parseSyncMode('bsp'))).toBe(false);
    expect(prefetches(parseSyncMode({ mode: 'ssp', staleness: 1 }))).toBe(false);
  });

  it('is true or false, and refused in the modes that wait for their reads', () => {
    expect(() => parseSyncMode({ mode: 'asp', prefetch: 1 })).toThrow('sync.prefetch: must be true or false, got 1');
    expect(() => parseSyncMode({ mode: 'bsp', prefetch: true })).toThrow('prefetch');
    expect(() => parseSyncMode({ mode: 'ssp', staleness: 1, prefetch: true })).toThrow('prefetch');
  });
});
