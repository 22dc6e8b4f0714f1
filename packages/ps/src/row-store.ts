import {
  AdmissionFilter,
  capacityRowsOf,
  chooseEvictions,
  type DynamicRowCounts,
  ErrorCodes,
  HashedIndex,
  type RowInitializer,
  RowshardError,
  rowInitializer,
  type SparseRowOptimizer,
  type TableSpec,
  UNKNOWN_ID_HALF,
} from '@rowshard/core';
import { type KernelMemory, KernelMemoryFull, kernelRowRandom } from '@rowshard/kernels';

/** Rows per page: 4096 × dim floats, e.g. 1 MiB at dim 64. */
export const PAGE_SHIFT = 12;
export const PAGE_ROWS = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_ROWS - 1;

/**
 * One table's rows on one shard, in pages of the shard's WebAssembly memory (KernelMemory),
 * so the optimizer and gather kernels work on rows where they live. A row's weights and its
 * optimizer state (Adagrad's sum, SparseAdam's moments) sit side by side: an update reads and
 * writes one contiguous stretch instead of three places in three pages (a third of the cache
 * and TLB misses on a table much larger than the caches). A bit per slot says whether its row
 * has been materialised: one bitmap for the table (128 KiB for a million slots) stays in the
 * caches, where a byte per row (a megabyte, read at random by every request) missed them on
 * each id. No object per row, no Map of rows.
 *
 * Both kinds place rows at slots in order of first touch, so the rows a job uses sit together
 * whatever their ids: a table of millions of rows of which training touches a tenth (a
 * fastText model's 2M hashed n-gram buckets) takes a tenth of the memory, the frequent rows
 * share pages and cache lines, and a new row costs no page fault in an untouched page. Dense
 * tables find a row's slot in an array by row (row r, owned by this shard under modulo
 * sharding, at r / numShards; 4 bytes per row, its pages untouched until used). Hashed tables
 * find it through an open-addressing index and keep each slot's id (for checkpoints and
 * exports); with
 * admission and eviction (dynamic-rows.ts) a row may never be made or may go, its slot and
 * page memory then taken by the next new id.
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
  /** Bit `slot & 31` of word `slot >>> 5`: the slot's row is materialised. Covers every allocated page. */
  private present = new Uint32Array(0);
  /** Bytes per row in a page: its weights, then its optimizer state (interleaved, row by row). */
  private readonly rowBytes: number;
  /** Hashed tables: id halves of each slot (lo, hi), paged like the rows. */
  private readonly idPages: Uint32Array[] = [];
  private readonly index: HashedIndex | null;
  /** Dense tables: slot + 1 of each of this shard's rows (by row / numShards), 0 until it is made. */
  private readonly denseSlots: Int32Array | null;
  /** Dense tables: the slot the next new row takes. */
  private nextDenseSlot = 0;
  rowsMaterialised = 0;
  /** Hashed tables with admission: which ids get a row (dynamic-rows.ts). */
  readonly admission: AdmissionFilter | null;
  /** Hashed tables with eviction (or admission): each slot's last update step. */
  private lastUpdate: Int32Array | null;
  /**
   * The step being applied, or next to be: a row made by a pull is stamped with it, an update
   * stamps its rows with it, and endStep(step) moves it past. Restored from a checkpoint's step.
   */
  clock = 0;
  readonly counts: DynamicRowCounts = { admitted: 0, rejected: 0, evicted: 0 };
  /** Byte offset of the row a not-admitted id reads (zeros or the shared unknown row); -1 until needed. */
  private defaultRow = -1;

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
    // Rows are drawn in WebAssembly, straight into their pages: the same floats as core's init, faster.
    this.init = rowInitializer(spec, seed, kernelRowRandom(memory, this.dim));
    this.shard = shard;
    this.numShards = numShards;
    this.index = spec.kind === 'hashed' ? new HashedIndex() : null;
    this.denseSlots = spec.kind === 'hashed' ? null : new Int32Array(Math.ceil(spec.numEmbeddings / numShards));
    this.admission = spec.admission ? new AdmissionFilter(spec.admission, seed, spec.name) : null;
    this.lastUpdate = spec.eviction || spec.admission ? new Int32Array(PAGE_ROWS) : null;
  }

  /** Whether rows come and go (admission or eviction): such a table needs endStep() after each step. */
  get dynamic(): boolean {
    return this.lastUpdate !== null;
  }

  /** The slot of a hashed id that has a row, or -1 (nothing is materialised). */
  find(lo: number, hi: number): number {
    if (this.index) return this.index.get(lo, hi);
    return (this.denseSlots as Int32Array)[this.localRow(lo + hi * 4294967296)] - 1;
  }

  /** Last update step of a slot (dynamic tables). */
  lastUpdateOf(slot: number): number {
    return this.lastUpdate ? this.lastUpdate[slot] : 0;
  }

  /** Stamps a slot as updated at `step` (an optimizer update, an admission, a restore). */
  touch(slot: number, step: number): void {
    if (!this.lastUpdate) return;
    if (slot >= this.lastUpdate.length) {
      let size = this.lastUpdate.length;
      while (size <= slot) size *= 2;
      const grown = new Int32Array(size);
      grown.set(this.lastUpdate);
      this.lastUpdate = grown;
    }
    this.lastUpdate[slot] = step;
  }

  /** Byte offset of the default row (what a not-admitted id reads), made on first use. */
  defaultRowOffset(): number {
    if (this.defaultRow < 0) {
      this.defaultRow = this.memory.alloc(4 * this.dim);
      if (this.spec.admission?.default === 'unknown')
        this.init.fill(UNKNOWN_ID_HALF, UNKNOWN_ID_HALF, this.memory.heapF32, this.defaultRow / 4);
    }
    return this.defaultRow;
  }

  /**
   * The end of step `step` (BSP: after every rank's push of the step is applied): rows idle for
   * ttlSteps or past capacity are evicted (chooseEvictions), their slots freed for new ids.
   * Returns the rows evicted.
   */
  endStep(step: number): number {
    this.clock = step + 1;
    const spec = this.spec.eviction;
    if (!spec || !this.index) return 0;
    const eviction = { ttlSteps: spec.ttlSteps, capacityRows: capacityRowsOf(spec, this.dim, this.stateFloats) };
    if (eviction.ttlSteps === null && this.rowsMaterialised <= (eviction.capacityRows ?? 0)) return 0;
    const n = this.rowsMaterialised;
    const slots = new Int32Array(n);
    const lo = new Uint32Array(n);
    const hi = new Uint32Array(n);
    const last = new Int32Array(n);
    let k = 0;
    this.forEachRow((l, h, slot) => {
      slots[k] = slot;
      lo[k] = l;
      hi[k] = h;
      last[k] = this.lastUpdateOf(slot);
      k++;
    });
    const victims = chooseEvictions(eviction, step, n, last, lo, hi);
    for (const v of victims) this.evict(slots[v], lo[v], hi[v]);
    this.counts.evicted += victims.length;
    return victims.length;
  }

  private evict(slot: number, lo: number, hi: number): void {
    (this.index as HashedIndex).remove(lo, hi);
    this.present[slot >>> 5] &= ~(1 << (slot & 31));
    this.rowsMaterialised--;
  }

  /** Index of a dense row among this shard's rows (the caller has checked ownership). */
  private localRow(row: number): number {
    return Math.floor(row / this.numShards);
  }

  /** The slot of a dense row, a new one on first touch. */
  private denseSlot(row: number): number {
    const slots = this.denseSlots as Int32Array;
    const local = this.localRow(row);
    const slot = slots[local] - 1;
    if (slot >= 0) return slot;
    // A new row's slot is recorded only once its page exists: denseSlotsOf takes a recorded slot
    // for a made row, so a page that cannot be allocated (OVERLOADED) must leave no slot behind.
    const next = this.nextDenseSlot;
    const page = next >>> PAGE_SHIFT;
    if (page >= this.pages.length || this.pages[page] < 0) this.allocatePage(page);
    slots[local] = next + 1;
    this.nextDenseSlot++;
    return next;
  }

  /**
   * slotOf for each id of a dense table, into `out` (-1 where the id is `padding`): a row that
   * exists costs one array read (a dense row has a slot exactly when it is materialised), so a
   * pull's or push's thousands of lookups skip slotOf's page and presence checks.
   */
  denseSlotsOf(ids: Int32Array | Uint32Array, padding: number, out: Int32Array): void {
    const slots = this.denseSlots as Int32Array;
    const numShards = this.numShards;
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i];
      if (row === padding) {
        out[i] = -1;
        continue;
      }
      const slot = slots[numShards === 1 ? row : Math.floor(row / numShards)] - 1;
      out[i] = slot >= 0 ? slot : this.slotOf(row, 0);
    }
  }

  /** Slot of a row id, materialising the row on first touch. */
  slotOf(lo: number, hi: number): number {
    const slot = this.index ? this.index.getOrInsert(lo, hi) : this.denseSlot(lo + hi * 4294967296);
    const page = slot >>> PAGE_SHIFT;
    if (page >= this.pages.length || this.pages[page] < 0) this.allocatePage(page);
    const word = slot >>> 5;
    const bit = 1 << (slot & 31);
    if ((this.present[word] & bit) === 0) {
      this.init.fill(lo, hi, this.memory.heapF32, this.weightOffset(slot));
      // Pages start zeroed, so zero-initialised state needs nothing, unless the slot held an evicted row.
      if (this.lastUpdate && this.stateFloats > 0)
        this.memory.heapF32.fill(0, this.stateOffset(slot), this.stateOffset(slot) + this.stateFloats);
      if (this.optimizer && !this.optimizer.stateStartsAtZero)
        this.optimizer.initState(this.memory.heapF32, this.stateOffset(slot));
      this.touch(slot, this.clock);
      if (this.index) {
        const at = slot & PAGE_MASK;
        this.idPages[page][2 * at] = lo;
        this.idPages[page][2 * at + 1] = hi;
      }
      this.present[word] |= bit;
      this.rowsMaterialised++;
    }
    return slot;
  }

  private allocatePage(page: number): void {
    while (this.pages.length <= page) {
      // Sparse JS arrays of pages stay small: one entry per 4096 slots.
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
    const words = this.pages.length << (PAGE_SHIFT - 5);
    if (this.present.length < words) {
      // Doubling: a table that materialises page after page copies its bitmap a few times, not once per page.
      const grown = new Uint32Array(Math.max(words, 2 * this.present.length));
      grown.set(this.present);
      this.present = grown;
    }
    // A page allocated again (after release) starts with no row materialised.
    this.present.fill(0, page << (PAGE_SHIFT - 5), (page + 1) << (PAGE_SHIFT - 5));
    if (this.index) this.idPages[page] = new Uint32Array(PAGE_ROWS * 2);
  }

  /** Gives every page back to the memory (the shard is being reset). */
  release(): void {
    for (let p = 0; p < this.pages.length; p++) {
      if (this.pages[p] < 0) continue;
      this.memory.release(this.pages[p], PAGE_ROWS * this.rowBytes);
    }
    this.present = new Uint32Array(0);
    this.pages.length = 0;
    this.idPages.length = 0;
    this.denseSlots?.fill(0);
    this.nextDenseSlot = 0;
    if (this.defaultRow >= 0) this.memory.release(this.defaultRow, 4 * this.dim);
    this.defaultRow = -1;
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

  /** Bytes held for rows, state and presence bits, and the index: a dense table's slots in use, a hashed one's ids and index. */
  get bytesUsed(): number {
    let bytes = this.index ? this.index.bytes : 4 * this.nextDenseSlot;
    bytes += (this.lastUpdate?.byteLength ?? 0) + (this.admission?.sketch.byteLength ?? 0);
    for (let p = 0; p < this.pages.length; p++) {
      if (this.pages[p] < 0) continue;
      bytes += PAGE_ROWS * this.rowBytes + PAGE_ROWS / 8;
      if (this.index) bytes += this.idPages[p].byteLength;
    }
    return bytes;
  }

  /** Calls fn for every materialised row: its id halves and slot (checkpoints, exports). */
  forEachRow(fn: (lo: number, hi: number, slot: number) => void): void {
    if (this.denseSlots) {
      // In row order, as a shard's file has always listed them.
      const slots = this.denseSlots;
      for (let local = 0; local < slots.length; local++) {
        if (slots[local] === 0) continue;
        const row = local * this.numShards + this.shard;
        fn(row >>> 0, Math.floor(row / 4294967296), slots[local] - 1);
      }
      return;
    }
    for (let p = 0; p < this.pages.length; p++) {
      if (this.pages[p] < 0) continue;
      for (let at = 0; at < PAGE_ROWS; at++) {
        const slot = (p << PAGE_SHIFT) | at;
        if ((this.present[slot >>> 5] & (1 << (slot & 31))) === 0) continue;
        fn(this.idPages[p][2 * at], this.idPages[p][2 * at + 1], slot);
      }
    }
  }
}
