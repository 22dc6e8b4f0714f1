import {
  ErrorCodes,
  HashedIndex,
  type RowInitializer,
  RowshardError,
  rowInitializer,
  type SparseRowOptimizer,
  type TableSpec,
} from '@rowshard/core';
import { type KernelMemory, KernelMemoryFull } from '@rowshard/kernels';

/** Rows per page: 4096 × dim floats, e.g. 1 MiB at dim 64. */
export const PAGE_SHIFT = 12;
export const PAGE_ROWS = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_ROWS - 1;

/**
 * One table's rows on one shard, in pages of the shard's WebAssembly memory (KernelMemory),
 * so the optimizer and gather kernels work on rows where they live. A row's weights and its
 * optimizer state (Adagrad's sum, SparseAdam's moments) sit side by side: an update reads and
 * writes one contiguous stretch instead of three places in three pages (a third of the cache
 * and TLB misses on a table much larger than the caches). A byte per row says whether it has
 * been materialised. No object per row, no Map of rows.
 *
 * Dense tables place row r (owned by this shard under modulo sharding) at slot r / numShards,
 * by arithmetic. Hashed tables place ids at slots in order of first touch through an
 * open-addressing index, and keep each slot's id (for checkpoints and exports).
 *
 * Rows are materialised on first touch with the deterministic init, so a million-row table
 * costs nothing until used, and a row's first value does not depend on when it is touched.
 * Pages are byte offsets; the view into the memory (heap) is only valid until the next row
 * is materialised (a new page may grow the memory).
 */
export class RowStore {
  readonly spec: TableSpec;
  readonly dim: number;
  readonly stateFloats: number;
  optimizer: SparseRowOptimizer | null;
  private readonly init: RowInitializer;
  private readonly shard: number;
  private readonly numShards: number;
  /** Byte offset of each page in the memory (-1: not allocated). */
  private readonly pages: number[] = [];
  /** Bytes per row in a page: its weights, then its optimizer state (interleaved, row by row). */
  private readonly rowBytes: number;
  private readonly presentPages: Uint8Array[] = [];
  /** Hashed tables: id halves of each slot (lo, hi), paged like the rows. */
  private readonly idPages: Uint32Array[] = [];
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
    this.rowBytes = 4 * (this.dim + this.stateFloats);
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
      this.pages.push(-1);
      if (this.index) this.idPages.push(undefined as unknown as Uint32Array);
    }
    try {
      this.pages[page] = this.memory.alloc(PAGE_ROWS * this.rowBytes);
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
    if (this.index) this.idPages[page] = new Uint32Array(PAGE_ROWS * 2);
    return present;
  }

  /** Gives every page back to the memory (the shard is being reset). */
  release(): void {
    for (let p = 0; p < this.presentPages.length; p++) {
      if (this.presentPages[p] === undefined) continue;
      this.memory.release(this.pages[p], PAGE_ROWS * this.rowBytes);
    }
    this.presentPages.length = 0;
    this.pages.length = 0;
    this.idPages.length = 0;
  }

  /** Byte offset of a materialised slot's weights (what the row kernels take). */
  weightByteOffset(slot: number): number {
    return this.pages[slot >>> PAGE_SHIFT] + (slot & PAGE_MASK) * this.rowBytes;
  }

  stateByteOffset(slot: number): number {
    return this.pages[slot >>> PAGE_SHIFT] + (slot & PAGE_MASK) * this.rowBytes + 4 * this.dim;
  }

  /** The memory as floats, for weightOffset/stateOffset; valid until the next row is materialised. */
  get heap(): Float32Array {
    return this.memory.heapF32;
  }

  /** Float index of a slot's weights in heap. */
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
      bytes += PAGE_ROWS * (1 + this.rowBytes);
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
