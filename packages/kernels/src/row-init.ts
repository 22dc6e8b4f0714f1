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

/** Bytes for eight Philox blocks (uniformRow's scratch holds four, uniformRows's eight). */
const EIGHT_BLOCKS = 128;
/** Floats drawn at a time by uniformRows for a destination outside this memory: 64 KiB (or a row, if longer). */
const RANGE_CHUNK_FLOATS = 16384;

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
  const chunkFloats = Math.max(padded, RANGE_CHUNK_FLOATS);
  const scratchBytes = EIGHT_BLOCKS + 4 * chunkFloats;
  const scratch = memory.alloc(scratchBytes, false);
  const rowAt = scratch + EIGHT_BLOCKS;
  const k = memory.exports;
  let words = memory.u32(rowAt, padded);
  let row = memory.f32(rowAt, padded);
  let chunk = memory.f32(rowAt, chunkFloats);
  const uniform: RowRandom['uniform'] = (key, lo, hi, tag, out, offset, count, a, b) => {
    if (count > maxCount) return fillUniformRow(key, lo, hi, tag, out, offset, count, a, b);
    if (memory.holds(out)) {
      k.uniformRow(key.k0, key.k1, lo, hi, tag, count, a, b - a, out.byteOffset + 4 * offset, scratch);
      return;
    }
    k.uniformRow(key.k0, key.k1, lo, hi, tag, count, a, b - a, rowAt, scratch);
    if (row.buffer !== memory.buffer) row = memory.f32(rowAt, padded);
    if (count === padded) out.set(row, offset);
    else out.set(row.subarray(0, count), offset);
  };
  return {
    uniform,
    // Many rows per call, in place when `out` lies in this memory, else a 64 KiB chunk at a time;
    // row by row where a row's blocks are not whole (dim not a multiple of 4).
    uniformRows(key, first, tag, out, offset, rows, dim, a, b) {
      if (dim % 4 !== 0 || dim > maxCount) {
        for (let r = 0; r < rows; r++) uniform(key, first + r, 0, tag, out, offset + r * dim, dim, a, b);
        return;
      }
      if (memory.holds(out)) {
        k.uniformRows(key.k0, key.k1, first, 0, rows, tag, dim, a, b - a, out.byteOffset + 4 * offset, scratch);
        return;
      }
      const perChunk = Math.floor(chunkFloats / dim);
      for (let done = 0; done < rows; done += perChunk) {
        const n = Math.min(perChunk, rows - done);
        k.uniformRows(key.k0, key.k1, first + done, 0, n, tag, dim, a, b - a, rowAt, scratch);
        if (chunk.buffer !== memory.buffer) chunk = memory.f32(rowAt, chunkFloats);
        out.set(chunk.subarray(0, n * dim), offset + done * dim);
      }
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
 * A table's row initialiser that draws in WebAssembly, with a memory of its own (or `memory`,
 * so that rows drawn into a block of it need no copy): for code that makes many rows outside a
 * shard (a model file's untouched rows, an export).
 */
export function kernelRowInitializer(table: TableSpec, seed: number, memory = new KernelMemory()): RowInitializer {
  return rowInitializer(table, seed, kernelRowRandom(memory, table.embeddingDim));
}
