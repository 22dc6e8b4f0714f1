import {
  ErrorCodes,
  type RowInitializer,
  RowshardError,
  rowInitializer,
  type SparseRowOptimizer,
  type TableSpec,
} from '@rowshard/core';
import { type KernelMemory, KernelMemoryFull } from '@rowshard/kernels';
import { HashedIndex } from './hashed-index.js';

/** Rows per page: 4096 × dim floats, e.g. 1 MiB at dim 64. */
export const PAGE_SHIFT = 12;
export const PAGE_ROWS = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_ROWS - 1;

/**
 * One table's rows on one shard, in pages of the shard's WebAssembly memory (KernelMemory):
 * weights in one set of pages, optimizer state (Adagrad's sum, SparseAdam's moments) in a
 * parallel set, so the optimizer and gather kernels work on rows where they live. A byte per
 * row says whether it has been materialised. No object per row, no Map of rows.
 *
 * Dense tables place row r (owned by this shard under modulo sharding) at slot r / numShards,
 * by arithmetic. Hashed tables place ids at slots in order of first touch through an
 * open-addressing index, and keep each slot's id (for checkpoints and exports).
 *
 * Rows are materialised on first touch with the deterministic init, so a million-row table
 * costs nothing until used, and a row's first value does not depend on when it is touched.
 * Pages are byte offsets: views into the memory (weightPage, statePage) are made on demand
 * and are only valid until the next row is materialised (a new page may grow the memory).
 */
export class RowStore {
  readonly spec: TableSpec;
  readonly dim: number;
  readonly stateFloats: number;
  optimizer: SparseRowOptimizer | null;
  private readonly init: RowInitializer;
  private readonly shard: number;
  private readonly numShards: number;
  /** Byte offsets of each page's weights and state in the memory (-1: not allocated). */
  private readonly weightPages: number[] = [];
  private readonly statePages: number[] = [];
  private readonly presentPages: Uint8Array[] = [];
  /** Hashed tables: id halves of each slot (lo, hi), paged like the rows. */
  private readonly idPages: Uint32Array[] = [];
  /** Per page, the generation that last saw each slot and its distinct index then (finding duplicates without allocating). */
  private readonly seenPages: Uint32Array[] = [];
  private readonly seenAtPages: Int32Array[] = [];
  private generation = 0;
  private readonly index: HashedIndex | null;
  rowsMaterialised = 0;

  constructor(
    spec: TableSpec,
    optimizer: SparseRowOptimizer | null,
    seed: number,
    shard: number,
    numShards: number,
    readonly memory: KernelMemory,
  ) {
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
      this.init.fill(lo, hi, this.memory.heapF32, this.weightOffset(slot));
      // Pages start zeroed and a row is materialised once, so zero-initialised state needs nothing.
      if (this.optimizer && !this.optimizer.stateStartsAtZero)
        this.optimizer.initState(this.memory.heapF32, this.stateOffset(slot));
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
      this.weightPages.push(-1);
      this.statePages.push(-1);
      this.seenPages.push(undefined as unknown as Uint32Array);
      this.seenAtPages.push(undefined as unknown as Int32Array);
      if (this.index) this.idPages.push(undefined as unknown as Uint32Array);
    }
    try {
      this.weightPages[page] = this.memory.alloc(PAGE_ROWS * this.dim * 4);
      this.statePages[page] = this.stateFloats > 0 ? this.memory.alloc(PAGE_ROWS * this.stateFloats * 4) : -1;
    } catch (e) {
      if (!(e instanceof KernelMemoryFull)) throw e;
      throw new RowshardError(
        ErrorCodes.OVERLOADED,
        `shard ${this.shard}: table '${this.spec.name}' cannot grow: this shard's rows and optimizer state would pass 4 GiB (one WebAssembly memory per parameter server); run more parameter servers`,
        { table: this.spec.name, shard: this.shard },
      );
    }
    const present = new Uint8Array(PAGE_ROWS);
    this.presentPages[page] = present;
    this.seenPages[page] = new Uint32Array(PAGE_ROWS);
    this.seenAtPages[page] = new Int32Array(PAGE_ROWS);
    if (this.index) this.idPages[page] = new Uint32Array(PAGE_ROWS * 2);
    return present;
  }

  /**
   * Numbers the distinct slots among slots[0..n) in first-occurrence order: distinctOf[i] is
   * slot i's number, and the count is returned. Slots must be materialised. One pass, no
   * allocation (a generation stamp per slot).
   */
  numberDistinct(slots: Int32Array, n: number, distinctOf: Int32Array): number {
    this.generation = (this.generation + 1) >>> 0;
    if (this.generation === 0) {
      for (const seen of this.seenPages) seen?.fill(0);
      this.generation = 1;
    }
    const gen = this.generation;
    let distinct = 0;
    for (let i = 0; i < n; i++) {
      const slot = slots[i];
      const page = slot >>> PAGE_SHIFT;
      const at = slot & PAGE_MASK;
      const seen = this.seenPages[page];
      if (seen[at] !== gen) {
        seen[at] = gen;
        this.seenAtPages[page][at] = distinct;
        distinctOf[i] = distinct++;
      } else distinctOf[i] = this.seenAtPages[page][at];
    }
    return distinct;
  }

  /** Gives every page back to the memory (the shard is being reset). */
  release(): void {
    for (let p = 0; p < this.presentPages.length; p++) {
      if (this.presentPages[p] === undefined) continue;
      this.memory.release(this.weightPages[p], PAGE_ROWS * this.dim * 4);
      if (this.statePages[p] >= 0) this.memory.release(this.statePages[p], PAGE_ROWS * this.stateFloats * 4);
    }
    this.presentPages.length = 0;
    this.weightPages.length = 0;
    this.statePages.length = 0;
    this.idPages.length = 0;
    this.seenPages.length = 0;
    this.seenAtPages.length = 0;
  }

  /** Byte offset of a materialised slot's weights (what the row kernels take). */
  weightByteOffset(slot: number): number {
    return this.weightPages[slot >>> PAGE_SHIFT] + (slot & PAGE_MASK) * this.dim * 4;
  }

  stateByteOffset(slot: number): number {
    return this.statePages[slot >>> PAGE_SHIFT] + (slot & PAGE_MASK) * this.stateFloats * 4;
  }

  /** The memory as floats, for weightOffset(slot); valid until the next row is materialised. */
  weightPage(_slot: number): Float32Array {
    return this.memory.heapF32;
  }

  statePage(_slot: number): Float32Array {
    return this.memory.heapF32;
  }

  /** Float index of a slot's weights in weightPage(). */
  weightOffset(slot: number): number {
    return this.weightByteOffset(slot) / 4;
  }

  stateOffset(slot: number): number {
    return this.stateByteOffset(slot) / 4;
  }

  /** Bytes held for rows, state, presence bytes and (hashed) ids and index. */
  get bytesUsed(): number {
    let bytes = this.index ? this.index.bytes : 0;
    for (let p = 0; p < this.presentPages.length; p++) {
      if (this.presentPages[p] === undefined) continue;
      bytes += PAGE_ROWS * (1 + 4 * this.dim + 4 * this.stateFloats);
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
