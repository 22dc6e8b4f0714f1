import { jsRowRandom, philox4x32, rowInitializer, streamKey, type TableSpec } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { KernelMemory } from './kernel-memory.js';
import { kernelRowRandom } from './row-init.js';

const DIMS = [1, 3, 4, 5, 15, 16, 17, 31, 64, 100, 301];
/** Row ids across both halves, the ends of the uint32 range included. */
const ROWS: [number, number][] = [
  [0, 0],
  [1, 0],
  [7, 0],
  [123_456, 0],
  [0xffffffff, 0],
  [5, 1],
  [0x8000_0000, 0x7fff_ffff],
];

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe('kernelRowRandom', () => {
  const key = streamKey(42, 'table:words');

  it('draws uniform rows bit for bit as fillUniformRow does, in its memory and out of it', () => {
    for (const dim of DIMS) {
      const memory = new KernelMemory();
      const random = kernelRowRandom(memory, dim);
      const rowInMemory = memory.alloc(4 * dim);
      for (const [lo, hi] of ROWS)
        for (const [a, b] of [
          [-0.01, 0.01],
          [0, 1],
          [-1 / 3, 2 / 7],
        ]) {
          const want = new Float32Array(dim + 2);
          jsRowRandom.uniform(key, lo, hi, 0, want, 1, dim, a, b);
          const outside = new Float32Array(dim + 2);
          random.uniform(key, lo, hi, 0, outside, 1, dim, a, b);
          expect(bitsOf(outside)).toEqual(bitsOf(want));
          random.uniform(key, lo, hi, 0, memory.heapF32, rowInMemory / 4, dim, a, b);
          expect(bitsOf(memory.f32(rowInMemory, dim))).toEqual(bitsOf(want.subarray(1, dim + 1)));
        }
    }
  });

  it('draws normal rows bit for bit as fillNormalRow does', () => {
    for (const dim of DIMS) {
      const random = kernelRowRandom(new KernelMemory(), dim);
      for (const [lo, hi] of ROWS)
        for (const tag of [0, 3]) {
          const want = new Float32Array(dim);
          jsRowRandom.normal(key, lo, hi, tag, want, 0, dim, 0.5, 2);
          const got = new Float32Array(dim);
          random.normal(key, lo, hi, tag, got, 0, dim, 0.5, 2);
          expect(bitsOf(got)).toEqual(bitsOf(want));
        }
    }
  });

  it('computes the Philox words of core, block after block', () => {
    const memory = new KernelMemory();
    const at = memory.alloc(4 * 16 * 3);
    memory.exports.philoxRowBlocks(key.k0, key.k1, 99, 2, 5, 9, at);
    const words = memory.u32(at, 36);
    const block = new Uint32Array(4);
    for (let b = 0; b < 9; b++) {
      philox4x32(key.k0, key.k1, 99, 2, b, 5, block);
      expect(Array.from(words.subarray(4 * b, 4 * b + 4))).toEqual(Array.from(block));
    }
  });

  it('gives a table the same rows as the JavaScript initialiser, longer rows included', () => {
    const table = {
      name: 'words',
      kind: 'dense',
      numEmbeddings: 10,
      embeddingDim: 40,
      paddingIdx: 2,
      init: { kind: 'normal', mean: 0, std: 1 },
    } as unknown as TableSpec;
    // A scratch for rows of 8 floats only: longer rows take the JavaScript path, with the same result.
    for (const random of [kernelRowRandom(new KernelMemory(), 40), kernelRowRandom(new KernelMemory(), 8)]) {
      const fast = rowInitializer(table, 7, random);
      const reference = rowInitializer(table, 7);
      for (let row = 0; row < 10; row++) {
        const got = new Float32Array(40);
        const want = new Float32Array(40);
        fast.fill(row, 0, got, 0);
        reference.fill(row, 0, want, 0);
        expect(bitsOf(got)).toEqual(bitsOf(want));
      }
    }
  });

  it('draws a range of uniform rows as fill draws each, in its memory and out of it, the padding row zero', () => {
    // Whole blocks (dim 4, 16, 100) take the many-row kernel, in groups of eight blocks across
    // row ends; other dims go row by row. A range longer than the 64 KiB chunk crosses chunks.
    for (const [dim, first, count] of [
      [100, 0, 1],
      [100, 3, 7],
      [4, 0xffff_fff0, 16],
      [16, 5, 33],
      [100, 1_000, 700],
      [5, 9, 11],
      [301, 2, 3],
    ]) {
      const table = {
        name: 'words',
        kind: 'dense',
        numEmbeddings: first + count + 1,
        embeddingDim: dim,
        paddingIdx: first + 2,
        init: { kind: 'uniform', a: -1 / dim, b: 1 / dim },
      } as unknown as TableSpec;
      const reference = rowInitializer(table, 9);
      const want = new Float32Array(count * dim + 2);
      for (let r = 0; r < count; r++) reference.fill(first + r, 0, want, 1 + r * dim);
      const memory = new KernelMemory();
      const fast = rowInitializer(table, 9, kernelRowRandom(memory, dim));
      const outside = new Float32Array(count * dim + 2);
      fast.fillRange(first, count, outside, 1);
      expect(bitsOf(outside)).toEqual(bitsOf(want));
      const at = memory.alloc(4 * (count * dim + 2));
      const inside = memory.f32(at, count * dim + 2);
      fast.fillRange(first, count, inside, 1);
      expect(bitsOf(inside)).toEqual(bitsOf(want));
      if (count > 2) expect(Array.from(inside.subarray(1 + 2 * dim, 1 + 3 * dim)).every((x) => x === 0)).toBe(true);
    }
  });

  it('draws a range of normal rows row by row, as fill does', () => {
    const table = {
      name: 'words',
      kind: 'dense',
      numEmbeddings: 40,
      embeddingDim: 12,
      init: { kind: 'normal', mean: 0, std: 1 },
    } as unknown as TableSpec;
    const want = new Float32Array(30 * 12);
    const reference = rowInitializer(table, 3);
    for (let r = 0; r < 30; r++) reference.fill(5 + r, 0, want, r * 12);
    const got = new Float32Array(30 * 12);
    rowInitializer(table, 3, kernelRowRandom(new KernelMemory(), 12)).fillRange(5, 30, got, 0);
    expect(bitsOf(got)).toEqual(bitsOf(want));
  });
});
