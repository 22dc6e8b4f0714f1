import { describe, expect, it } from 'vitest';
import { RankPool } from './rank-pool.js';

describe('RankPool', () => {
  it('hands out ranks in order, and gives a lost trainer its unfinished ranks back, lowest first', () => {
    const pool = new RankPool(4);
    expect(pool.take(10, 2)).toEqual([0, 1]);
    expect(pool.take(11, 2)).toEqual([2, 3]);
    expect(() => pool.take(12, 1)).toThrow(/4 workers and 4 are taken; cannot add 1/);
    pool.markDone(0);
    expect(pool.release(10)).toEqual([1]);
    expect(pool.release(10)).toBeNull(); // already released
    expect(pool.release(99)).toBeNull(); // never a trainer
    expect(pool.free).toEqual([1]);
    expect(pool.take(12, 1)).toEqual([1]);
    for (const r of [1, 2, 3]) pool.markDone(r);
    expect(pool.allDone).toBe(true);
    expect(pool.release(11)).toEqual([]);
  });

  it('gives a live trainer that claims its ranks back exactly those, and refuses ranks another holds', () => {
    // A restarted coordinator: every rank free; trainer 20 ran rank 1, trainer 21 rank 0.
    const pool = new RankPool(3);
    expect(pool.claim(20, [1])).toEqual([1]);
    expect(pool.free).toEqual([0, 2]);
    // A replacement asking for one rank gets a free one, never the claimed rank.
    expect(pool.take(22, 1)).toEqual([0]);
    expect(() => pool.claim(21, [0])).toThrow(expect.objectContaining({ code: 'E_RANK_TAKEN' }));
    expect(pool.free).toEqual([2]); // the refused claim changed nothing
    expect(pool.claim(20, [1])).toEqual([1]); // claiming again (a second reconnect) is no change
    expect(pool.release(20)).toEqual([1]);
    expect(pool.free).toEqual([1, 2]);
    expect(() => pool.claim(23, [3])).toThrow(/rank must be an integer in \[0, 3\)/);
  });

  it.each([4, -1, 1.5, '2', null, Number.NaN])('refuses rank %s from a request', (rank) => {
    const pool = new RankPool(4);
    expect(() => pool.check(rank, 'worker_done')).toThrow(
      expect.objectContaining({
        code: 'E_BAD_REQUEST',
        message: expect.stringContaining('worker_done: rank must be an integer in [0, 4)'),
      }),
    );
  });
});
