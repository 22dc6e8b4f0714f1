import { initDenseTable, parseSparseOptimizerConfig, sparseRowOptimizer, tableSpec } from '@rowshard/core';
import { KernelMemory, KernelMemoryFull } from '@rowshard/kernels';
import { describe, expect, it } from 'vitest';
import { PAGE_ROWS, RowStore } from './row-store.js';

describe('RowStore', () => {
  const spec = tableSpec({ name: 'w', numEmbeddings: 10_000, embeddingDim: 3 });

  it('materialises rows lazily with the same values as a whole-table init', () => {
    const store = new RowStore(spec, null, 5, 1, 3, new KernelMemory()); // shard 1 of 3 owns rows 1, 4, 7, ...
    expect(store.rowsMaterialised).toBe(0);
    expect(store.bytesUsed).toBe(0);
    const full = initDenseTable(spec, 5);
    for (const [i, row] of [9997, 4, 1].entries()) {
      // Slots in order of first touch, whatever the row: the rows a job uses sit together.
      const slot = store.slotOf(row, 0);
      expect(slot).toBe(i);
      expect(store.slotOf(row, 0)).toBe(i);
      expect(store.find(row, 0)).toBe(i);
      const off = store.weightOffset(slot);
      expect(store.heap.subarray(off, off + 3)).toEqual(full.subarray(row * 3, row * 3 + 3));
    }
    expect(store.rowsMaterialised).toBe(3);
    const seen: number[] = [];
    store.forEachRow((lo) => seen.push(lo));
    expect(seen.sort((a, b) => a - b)).toEqual([1, 4, 9997]);
  });

  it('leaves no slot for a row whose page could not be allocated (OVERLOADED), and makes it once there is room', () => {
    /** A memory that refuses to grow while `full` is set, as one at its 4 GiB does. */
    class FullableMemory extends KernelMemory {
      full = false;
      override alloc(bytes: number, zeroed = true): number {
        if (this.full) throw new KernelMemoryFull(bytes);
        return super.alloc(bytes, zeroed);
      }
    }
    const memory = new FullableMemory();
    const wide = tableSpec({ name: 'w', numEmbeddings: 2 * PAGE_ROWS, embeddingDim: 3 });
    const store = new RowStore(wide, null, 5, 0, 1, memory);
    const first = Int32Array.from({ length: PAGE_ROWS }, (_, i) => i);
    const slots = new Int32Array(PAGE_ROWS);
    store.denseSlotsOf(first, -1, slots); // the first page, full
    memory.full = true;
    const next = Int32Array.of(PAGE_ROWS + 5);
    expect(() => store.denseSlotsOf(next, -1, new Int32Array(1))).toThrow(/cannot grow/);
    expect(store.find(PAGE_ROWS + 5, 0)).toBe(-1);
    expect(() => store.denseSlotsOf(next, -1, new Int32Array(1))).toThrow(/cannot grow/);
    memory.full = false;
    const slot = new Int32Array(1);
    store.denseSlotsOf(next, -1, slot);
    expect(slot[0]).toBe(PAGE_ROWS);
    const off = store.weightOffset(slot[0]);
    const full = initDenseTable(wide, 5);
    expect(store.heap.subarray(off, off + 3)).toEqual(full.subarray((PAGE_ROWS + 5) * 3, (PAGE_ROWS + 6) * 3));
    expect(store.rowsMaterialised).toBe(PAGE_ROWS + 1);
  });

  it('holds one page for a hundred rows scattered over a million, and lists them in row order', () => {
    const big = tableSpec({ name: 'b', numEmbeddings: 1_000_000, embeddingDim: 4 });
    const store = new RowStore(big, null, 5, 0, 1, new KernelMemory());
    const rows = Array.from({ length: 100 }, (_, i) => (i * 7919 * 13) % 1_000_000);
    for (const row of rows) store.slotOf(row, 0);
    expect(store.bytesUsed).toBe(PAGE_ROWS * 4 * 4 + PAGE_ROWS / 8 + 4 * 100);
    const listed: number[] = [];
    store.forEachRow((lo) => listed.push(lo));
    expect(listed).toEqual([...rows].sort((a, b) => a - b));
    const full = initDenseTable(big, 5);
    for (const row of rows) {
      const off = store.weightOffset(store.find(row, 0));
      expect(store.heap.subarray(off, off + 4)).toEqual(full.subarray(row * 4, row * 4 + 4));
    }
  });

  it('keeps optimizer state beside rows, initialised per row', () => {
    const opt = sparseRowOptimizer(parseSparseOptimizerConfig({ kind: 'adagrad', initial_accumulator_value: 0.25 }), 3);
    const store = new RowStore(spec, opt, 0, 0, 1, new KernelMemory());
    const slot = store.slotOf(42, 0);
    const off = store.stateOffset(slot);
    expect([...store.heap.subarray(off, off + 3)]).toEqual([0.25, 0.25, 0.25]);
    // One page of rows and their state side by side, one presence bit per slot; the row's slot entry.
    expect(store.bytesUsed).toBe(PAGE_ROWS * (3 * 4 + 3 * 4) + PAGE_ROWS / 8 + 4);
  });

  it('hashed tables map 64-bit ids to dense slots and remember the ids', () => {
    const hashed = tableSpec({ name: 'h', kind: 'hashed', numEmbeddings: 100, embeddingDim: 2 });
    const store = new RowStore(hashed, null, 0, 0, 1, new KernelMemory());
    const ids: [number, number][] = Array.from({ length: 5000 }, (_, i) => [(i * 2654435761) >>> 0, i % 7]);
    ids.forEach(([lo, hi], i) => expect(store.slotOf(lo, hi)).toBe(i));
    ids.forEach(([lo, hi], i) => expect(store.slotOf(lo, hi)).toBe(i));
    const back: string[] = [];
    store.forEachRow((lo, hi) => back.push(`${lo}:${hi}`));
    expect(back).toEqual(ids.map(([lo, hi]) => `${lo}:${hi}`));
  });
});
