import {
  fillNormalRow,
  fillUniformRow,
  normalsFromBlocks,
  type RowInitializer,
  type RowRandom,
  rowInitializer,
  type StreamKey,
  type TableSpec,
} from '@rowshard/core';
import { KernelMemory } from './kernel-memory.js';

/** Bytes for four Philox blocks (uniformRow's scratch). */
const FOUR_BLOCKS = 64;

/**
 * A table's row init drawn in WebAssembly (assembly/row-init.ts): the same floats as core's
 * fillUniformRow and fillNormalRow, bit for bit (the tests compare them), several times
 * faster. Uniform rows are computed whole there, into the row's place when it lies in this
 * memory; for normal rows only the Philox words are, and Box-Muller runs in JavaScript
 * (normalsFromBlocks), because WebAssembly has no logarithm or sine of its own and one
 * written for it would round differently from Math.log and Math.cos.
 *
 * Its scratch is allocated here, once, for rows up to `maxCount` floats: allocating during a
 * fill could grow the memory and detach the view being filled. Longer rows use JavaScript.
 */
export function kernelRowRandom(memory: KernelMemory, maxCount: number): RowRandom {
  const padded = Math.ceil(maxCount / 16) * 16;
  const scratchBytes = FOUR_BLOCKS + 4 * padded;
  const scratch = memory.alloc(scratchBytes, false);
  const rowAt = scratch + FOUR_BLOCKS;
  const k = memory.exports;
  let words = memory.u32(rowAt, padded);
  let row = memory.f32(rowAt, padded);
  return {
    uniform(key: StreamKey, lo, hi, tag, out, offset, count, a, b) {
      if (count > maxCount) return fillUniformRow(key, lo, hi, tag, out, offset, count, a, b);
      if (memory.holds(out)) {
        k.uniformRow(key.k0, key.k1, lo, hi, tag, count, a, b - a, out.byteOffset + 4 * offset, scratch);
        return;
      }
      k.uniformRow(key.k0, key.k1, lo, hi, tag, count, a, b - a, rowAt, scratch);
      if (row.buffer !== memory.buffer) row = memory.f32(rowAt, padded);
      if (count === padded) out.set(row, offset);
      else out.set(row.subarray(0, count), offset);
    },
    normal(key: StreamKey, lo, hi, tag, out, offset, count, mean, std) {
      if (count > maxCount) return fillNormalRow(key, lo, hi, tag, out, offset, count, mean, std);
      k.philoxRowBlocks(key.k0, key.k1, lo, hi, tag, Math.ceil(count / 4), rowAt);
      if (words.buffer !== memory.buffer) words = memory.u32(rowAt, padded);
      normalsFromBlocks(words, 0, out, offset, count, mean, std);
    },
  };
}

/**
 * A table's row initialiser that draws in WebAssembly, with a memory of its own: for code
 * that makes many rows outside a shard (a model file's untouched rows, an export).
 */
export function kernelRowInitializer(table: TableSpec, seed: number): RowInitializer {
  return rowInitializer(table, seed, kernelRowRandom(new KernelMemory(), table.embeddingDim));
}
