import { ID_TREE_LEAVES, idTreeSplits } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { addShardRoots, idTreeLeaves } from './id-tree.js';
import { jsKernels } from './js-kernels.js';
import type { Kernels } from './kernels.js';
import { StepArena } from './step-arena.js';
import { WasmKernels } from './wasm-kernels.js';

/** Rows whose float32 sums depend on the order of the adds: magnitudes 10^-4 .. 10^4, and some −0. */
function rows(count: number, dim: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count * dim }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (i % 11 === 3) return -0;
    return ((s / 2 ** 31 - 1) * 10 ** ((s >>> 7) % 9)) / 1e4;
  });
}

/** A batch of bags: positions in bag order, ids drawn from `vocab` with repeats. */
function bags(bagCount: number, maxLen: number, vocab: number, seed: number) {
  let s = seed;
  const next = (n: number) => {
    s = (Math.imul(s, 22695477) + 1) >>> 0;
    return (s >>> 8) % n;
  };
  const ids: number[] = [];
  const bagOf: number[] = [];
  for (let b = 0; b < bagCount; b++) {
    const len = b % 5 === 4 ? 0 : 1 + next(maxLen); // some empty bags
    for (let i = 0; i < len; i++) {
      ids.push(next(vocab));
      bagOf.push(b);
    }
  }
  return { ids: Int32Array.from(ids), bagOf: Int32Array.from(bagOf) };
}

/** The definition, literally: 16 leaves of zeros plus their rows in position order, then every stage's adds, zeros and all. */
function reference(ids: Int32Array, bagOf: Int32Array, bagCount: number, table: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(bagCount * dim);
  for (let b = 0; b < bagCount; b++) {
    const leaf = Array.from({ length: ID_TREE_LEAVES }, () => new Float32Array(dim));
    for (let p = 0; p < ids.length; p++) {
      if (bagOf[p] !== b) continue;
      const node = leaf[ids[p] % ID_TREE_LEAVES];
      for (let d = 0; d < dim; d++) node[d] = Math.fround(node[d] + table[ids[p] * dim + d]);
    }
    for (let half = ID_TREE_LEAVES / 2; half >= 1; half >>= 1) {
      for (let r = 0; r < half; r++) for (let d = 0; d < dim; d++) leaf[r][d] = Math.fround(leaf[r][d] + leaf[r + half][d]);
    }
    out.set(leaf[0], b * dim);
  }
  return out;
}

/** Bags whose positions lie together, as the kernels take them: bounds from each position's bag. */
function treeSums(
  k: Kernels,
  ids: Int32Array,
  bagOf: Int32Array,
  bagCount: number,
  table: Float32Array,
  dim: number,
): Float32Array {
  const bounds = new Int32Array(bagCount + 1);
  for (const b of bagOf) bounds[b + 1]++;
  for (let b = 0; b < bagCount; b++) bounds[b + 1] += bounds[b];
  const out = new Float32Array(bagCount * dim).fill(Number.NaN); // every value written
  k.idTreeBagSums(bounds, ids, idTreeLeaves(ids, ids.length, new Int32Array(ids.length)), table, out, dim);
  return out;
}

/** Bits, so that −0 and +0 differ. */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('the id tree (BSP’s order of a bag’s adds)', () => {
  const dim = 7; // a SIMD part and a scalar tail
  const vocab = 500;
  const table = rows(vocab, dim, 5);

  it('sums each bag as its definition does, in the JavaScript and the WebAssembly kernels (in place and staged)', () => {
    const { ids, bagOf } = bags(40, 90, vocab, 3);
    const want = bits(reference(ids, bagOf, 40, table, dim));
    expect(bits(treeSums(jsKernels, ids, bagOf, 40, table, dim))).toEqual(want);
    expect(bits(treeSums(new WasmKernels(new StepArena(1 << 20)), ids, bagOf, 40, table, dim))).toEqual(want);
    // The rows in the arena: the kernel reads them where they are.
    const arena = new StepArena(1 << 20);
    arena.beginStep();
    const inArena = arena.f32(table.length);
    inArena.set(table);
    expect(bits(treeSums(new WasmKernels(arena), ids, bagOf, 40, inArena, dim))).toEqual(want);
    // The same positions interleaved across bags: each bag's own positions keep their order.
  });

  it('splits over 1, 2, 4, 8 and 16 shards: each shard’s sums of its positions, added by addShardRoots, give the same bits', () => {
    const { ids, bagOf } = bags(30, 120, vocab, 8);
    const want = bits(reference(ids, bagOf, 30, table, dim));
    for (let shards = 1; shards <= ID_TREE_LEAVES; shards *= 2) {
      expect(idTreeSplits(shards)).toBe(true);
      const perShard = Array.from({ length: shards }, (_, s) => {
        const mine = Array.from(ids.keys()).filter((p) => ids[p] % shards === s);
        const sums = treeSums(
          jsKernels,
          Int32Array.from(mine, (p) => ids[p]),
          Int32Array.from(mine, (p) => bagOf[p]),
          30,
          table,
          dim,
        );
        return { sums, holds: new Set(mine.map((p) => bagOf[p])) };
      });
      const got = new Float32Array(30 * dim);
      for (let b = 0; b < 30; b++) {
        const nodes = perShard.map(({ sums, holds }) => (holds.has(b) ? sums.slice(b * dim, (b + 1) * dim) : null));
        const root = addShardRoots(nodes, dim);
        if (root) got.set(root, b * dim);
      }
      expect(bits(got)).toEqual(want);
    }
  });

  it('differs from position order in the last bits (the test data can tell the orders apart)', () => {
    const { ids, bagOf } = bags(30, 120, vocab, 8);
    const positionOrder = new Float32Array(30 * dim);
    for (let p = 0; p < ids.length; p++) {
      for (let d = 0; d < dim; d++) {
        const at = bagOf[p] * dim + d;
        positionOrder[at] = Math.fround(positionOrder[at] + table[ids[p] * dim + d]);
      }
    }
    expect(bits(reference(ids, bagOf, 30, table, dim))).not.toEqual(bits(positionOrder));
  });

  it('a bag of −0 rows sums to +0, as a position-order sum from +0 does', () => {
    const negativeZeros = new Float32Array(66 * dim).fill(-0);
    for (const k of [jsKernels, new WasmKernels(new StepArena(1 << 20))]) {
      // Bag 0: leaves 0 and 1, added; bag 1: leaves 2 and 1 (65 mod 16), one moved, then added.
      const out = treeSums(k, Int32Array.of(0, 1, 2, 65), Int32Array.of(0, 0, 1, 1), 2, negativeZeros, dim);
      expect(bits(out)).toEqual(bits(new Float32Array(2 * dim)));
    }
  });

  it('splits only over powers of two up to 16', () => {
    for (const n of [0, 3, 6, 12, 32, 1.5]) expect(idTreeSplits(n)).toBe(false);
    expect(() => addShardRoots([null, null, null], 4)).toThrow(/not 3/);
  });
});
