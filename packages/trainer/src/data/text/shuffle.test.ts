import { describe, expect, it } from 'vitest';
import { ShuffleBuffer, shardFilter, shuffled, takeShard } from './shuffle.js';

async function* count(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

describe('shuffled', () => {
  it('is a permutation, and the same seed and input give the same order', async () => {
    const a = await all(shuffled(count(500), 64, 7));
    const b = await all(shuffled(count(500), 64, 7));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(await all(shuffled(count(500), 64, 8))).not.toEqual(a);
  });

  it('keeps its order from version to version: a resumed job reads its pass as it began it', async () => {
    // Made by the code of 2026-12-06 (UniformInts over Philox); a change here changes every job's order.
    expect(await all(shuffled(count(20), 8, 7))).toEqual([0, 2, 4, 5, 1, 3, 6, 8, 7, 13, 12, 18, 16, 9, 11, 10, 17, 19, 15, 14]);
    expect(await all(shuffled(count(6), 10, 2))).toEqual([2, 1, 5, 4, 3, 0]);
  });

  it('gives the order of shuffled through ShuffleBuffer, fed in chunks of any size', async () => {
    for (const [n, size, seed] of [
      [500, 64, 7],
      [10, 1000, 1],
      [5, 1, 3],
      [0, 4, 3],
    ]) {
      const want = await all(shuffled(count(n), size, seed));
      for (const chunk of [1, 7, 1000]) {
        const buffer = new ShuffleBuffer<number>(size, seed);
        const got: number[] = [];
        for (let i = 0; i < n; i += chunk) for (let k = i; k < Math.min(n, i + chunk); k++) buffer.add(k, got);
        buffer.drain(got);
        expect(got).toEqual(want);
      }
    }
    expect(() => new ShuffleBuffer(0, 1)).toThrow(/bufferSize/);
    expect(() => new ShuffleBuffer(2, -1)).toThrow(/seed/);
  });

  it('handles inputs shorter than the buffer and a buffer of one', async () => {
    const short = await all(shuffled(count(10), 1000, 1));
    expect([...short].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(await all(shuffled(count(5), 1, 3))).toEqual([0, 1, 2, 3, 4]);
    expect(await all(shuffled(count(0), 4, 3))).toEqual([]);
  });

  it('moves elements roughly uniformly within the buffer', async () => {
    // With a buffer as large as the input, the first position is uniform over the input.
    const firsts = new Array(4).fill(0);
    for (let seed = 0; seed < 400; seed++) firsts[(await all(shuffled(count(4), 4, seed)))[0]]++;
    for (const f of firsts) expect(f).toBeGreaterThan(60);
  });

  it('rejects bad parameters naming them', async () => {
    await expect(all(shuffled(count(3), 0, 1))).rejects.toThrow(/bufferSize/);
    await expect(all(shuffled(count(3), 2, -1))).rejects.toThrow(/seed/);
  });
});

describe('takeShard', () => {
  it('gives disjoint shards that cover every element exactly once', async () => {
    for (const numShards of [1, 2, 3, 7]) {
      const seen = new Map<number, number>();
      for (let shard = 0; shard < numShards; shard++) {
        const part = await all(takeShard(count(100), shard, numShards));
        expect(part.length === Math.floor(100 / numShards) || part.length === Math.ceil(100 / numShards)).toBe(true);
        for (const x of part) seen.set(x, (seen.get(x) ?? 0) + 1);
      }
      expect(seen.size).toBe(100);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    }
  });

  it('validates shard and numShards', () => {
    expect(() => shardFilter(3, 3)).toThrow(/shard: must be below numShards/);
    expect(() => shardFilter(0, 0)).toThrow(/numShards/);
    expect(shardFilter(1, 3)(4)).toBe(true);
  });
});
