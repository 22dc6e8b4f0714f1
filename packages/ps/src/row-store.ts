import { type RowInitializer, rowInitializer, type SparseRowOptimizer, type TableSpec } from '@rowshard/core';
import { HashedIndex } from './hashed-index.js';

/** Rows per page: 4096 × dim floats, e.g. 1 MiB at dim 64, far below V8's ArrayBuffer limits. */
export const PAGE_SHIFT = 12;
export const PAGE_ROWS = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_ROWS - 1;

/**
 * One table's rows on one shard, in pages of Float32Array: weights in one set of pages,
 * optimizer state (Adagrad's sum, SparseAdam's moments) in a parallel set, a byte per row
 * saying whether it has been materialised. No object per row, no Map of rows.
 *
 * Dense tables place row r (owned by this shard under modulo sharding) at slot r / numShards,
 * by arithmetic. Hashed tables place ids at slots in order of first touch through an
 * open-addressing index, and keep each slot's id (for checkpoints and exports).
 *
 * Rows are materialised on first touch with the deterministic init, so a million-row table
 * costs nothing until used, and a row's first value does not depend on when it is touched.
 */
export class RowStore {
  readonly spec: TableSpec;
  readonly dim: number;
  readonly stateFloats: number;
  optimizer: SparseRowOptimizer | null;
  private readonly init: RowInitializer;
  private readonly shard: number;
  private readonly numShards: number;
  private readonly weightPages: Float32Array[] = [];
  private readonly statePages: Float32Array[] = [];
  private readonly presentPages: Uint8Array[] = [];
  /** Hashed tables: id halves of each slot (lo, hi), paged like the rows. */
  private readonly idPages: Uint32Array[] = [];
  private readonly index: HashedIndex | null;
  rowsMaterialised = 0;

  constructor(spec: TableSpec, optimizer: SparseRowOptimizer | null, seed: number, shard: number, numShards: number) {
    this.spec = spec;
    this.dim = spec.embeddingDim;
    this.optimizer = optimizer;
    this.stateFloats = optimizer ? optimizer.stateFloatsPerRow : 0;
    this.init = rowInitializer(spec, seed);
    this.shard = shard;
    this.numShards = numShards;
    this.index = spec.kind === 'hashed' ? new HashedIndex() : null;
  }

  /** Slot of a dense row owned by this shard (the caller has checked ownership). */
  denseSlot(row: number): number {
    return Math.floor(row / this.numShards);
  }

  /** Slot of a row id, materialising the row on first touch. */
  slotOf(lo: number, hi: number): number {
    const slot = this.index ? this.index.getOrInsert(lo, hi) : this.denseSlot(lo + hi * 4294967296);
    const page = slot >>> PAGE_SHIFT;
    let present = this.presentPages[page];
    if (present === undefined) present = this.allocatePage(page);
    const at = slot & PAGE_MASK;
    if (present[at] === 0) {
      this.init.fill(lo, hi, this.weightPages[page], at * this.dim);
      // Pages start zeroed and a row is materialised once, so zero-initialised state needs nothing.
      if (this.optimizer && !this.optimizer.stateStartsAtZero)
        this.optimizer.initState(this.statePages[page], at * this.stateFloats);
      if (this.index) {
        this.idPages[page][2 * at] = lo;
        this.idPages[page][2 * at + 1] = hi;
      }
      present[at] = 1;
      this.rowsMaterialised++;
    }
    return slot;
  }

  private allocatePage(page: number): Uint8Array {
    while (this.presentPages.length <= page) {
      // Sparse JS arrays of pages stay small: one entry per 4096 slots.
      this.presentPages.push(undefined as unknown as Uint8Array);
      this.weightPages.push(undefined as unknown as Float32Array);
      this.statePages.push(undefined as unknown as Float32Array);
      if (this.index) this.idPages.push(undefined as unknown as Uint32Array);
    }
    const present = new Uint8Array(PAGE_ROWS);
    this.presentPages[page] = present;
    this.weightPages[page] = new Float32Array(PAGE_ROWS * this.dim);
    this.statePages[page] = new Float32Array(PAGE_ROWS * this.stateFloats);
    if (this.index) this.idPages[page] = new Uint32Array(PAGE_ROWS * 2);
    return present;
  }

  weightPage(slot: number): Float32Array {
    return this.weightPages[slot >>> PAGE_SHIFT];
  }

  statePage(slot: number): Float32Array {
    return this.statePages[slot >>> PAGE_SHIFT];
  }

  weightOffset(slot: number): number {
    return (slot & PAGE_MASK) * this.dim;
  }

  stateOffset(slot: number): number {
    return (slot & PAGE_MASK) * this.stateFloats;
  }

  /** Bytes held for rows, state, presence bytes and (hashed) ids and index. */
  get bytesUsed(): number {
    let bytes = this.index ? this.index.bytes : 0;
    for (let p = 0; p < this.presentPages.length; p++) {
      if (this.presentPages[p] === undefined) continue;
      bytes += this.presentPages[p].byteLength + this.weightPages[p].byteLength + this.statePages[p].byteLength;
      if (this.index) bytes += this.idPages[p].byteLength;
    }
    return bytes;
  }

  /** Calls fn for every materialised row: its id halves and slot (checkpoints, exports). */
  forEachRow(fn: (lo: number, hi: number, slot: number) => void): void {
    for (let p = 0; p < this.presentPages.length; p++) {
      const present = this.presentPages[p];
      if (present === undefined) continue;
      for (let at = 0; at < PAGE_ROWS; at++) {
        if (present[at] === 0) continue;
        const slot = (p << PAGE_SHIFT) | at;
        if (this.index) fn(this.idPages[p][2 * at], this.idPages[p][2 * at + 1], slot);
        else {
          const row = slot * this.numShards + this.shard;
          fn(row >>> 0, Math.floor(row / 4294967296), slot);
        }
      }
    }
  }
}
