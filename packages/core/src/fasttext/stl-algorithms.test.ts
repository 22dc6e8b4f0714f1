import { describe, expect, it } from 'vitest';
import { stlPopHeap, stlPushHeap, stlSort, stlSortHeap } from './stl-algorithms.js';

function lcg(seed: number) {
  let s = seed;
  return (k: number) => {
    s = (s * 48271) % 2147483647;
    return s % k;
  };
}

describe("libstdc++'s sort and heap functions", () => {
  it('sorts any input (ties included), through the partition and heap paths', () => {
    const rand = lcg(5);
    for (const n of [0, 1, 2, 15, 16, 17, 100, 1000, 5000]) {
      const a = Array.from({ length: n }, () => rand(n < 100 ? 5 : 50));
      const b = [...a];
      stlSort(b, (x, y) => x > y);
      expect(b).toEqual([...a].sort((x, y) => y - x));
    }
    // A sorted input of many equal keys stays in range of the depth limit; every order still sorts.
    const same = Array.from({ length: 3000 }, (_, i) => ({ k: i % 3, i }));
    stlSort(same, (x, y) => x.k < y.k);
    for (let i = 1; i < same.length; i++) expect(same[i - 1].k).toBeLessThanOrEqual(same[i].k);
  });

  it('keeps the k best in a heap and sorts it as fastText does', () => {
    const rand = lcg(9);
    const better = (a: number, b: number) => a > b;
    const heap: number[] = [];
    const all: number[] = [];
    for (let i = 0; i < 200; i++) {
      const x = rand(1000);
      all.push(x);
      heap.push(x);
      stlPushHeap(heap, better);
      if (heap.length > 5) {
        stlPopHeap(heap, better);
        heap.pop();
      }
    }
    stlSortHeap(heap, better);
    expect(heap).toEqual(all.sort((a, b) => b - a).slice(0, 5));
  });
});
