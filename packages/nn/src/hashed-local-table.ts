import {
  AdmissionFilter,
  addRow,
  capacityRowsOf,
  chooseEvictions,
  type DynamicRowCounts,
  dedupeIds64,
  HashedIndex,
  idHalves,
  type RowIds,
  type RowInitializer,
  renormRow,
  rowInitializer,
  type SparseOptimizerConfig,
  type SparseStepContext,
  shardOfHashed,
  sparseRowOptimizer,
  type TableSpec,
  UNKNOWN_ID_HALF,
} from '@rowshard/core';
import { KernelMemory, optimizerRows } from '@rowshard/kernels';
import type { RowLookup, RowSource } from './row-source.js';
import { validateIndices } from './row-source.js';
import { allocF32 } from './step-scope.js';

/** A hashed table's sparse gradient: distinct 64-bit ids and their summed rows. */
export interface HashedSparseGrad {
  readonly ids: BigUint64Array;
  readonly rows: Float32Array;
}

const PAGE_SHIFT = 10;
const PAGE_ROWS = 1 << PAGE_SHIFT;

/**
 * A hashed table (`kind: 'hashed'`, raw 64-bit ids) in one process: single-process training
 * and the reference a cluster is checked against. Rows appear on first lookup with the
 * deterministic init of their id, as on a parameter server, and live beside their optimizer
 * state in pages of a WebAssembly memory, so an update runs the very kernel a shard runs
 * (`optimizerRows`): a model trained here and through a cluster in BSP with one worker agree
 * bit for bit, not only within a tolerance.
 *
 * Admission and eviction (the spec's, dynamic-rows.ts) follow a shard's rules exactly; with
 * `numShards` they apply per shard as a cluster of that many shards would (one sketch and one
 * capacity per shard), so this is the reference for a cluster with rows that come and go.
 */
export class HashedLocalTable implements RowSource {
  readonly spec: TableSpec;
  trainable: boolean;
  private readonly index = new HashedIndex();
  private readonly memory = new KernelMemory();
  private readonly init: RowInitializer;
  private readonly stateFloats: number;
  private readonly rowBytes: number;
  private readonly pages: number[] = [];
  /** Each slot's id halves, for listing the rows. */
  private slotIds = new Uint32Array(2 * PAGE_ROWS);
  private pending: { ids: Uint32Array; rows: Float32Array; order: number }[] = [];
  private lookups = 0;
  /** Per shard: admission state (null without admission). */
  private readonly admission: AdmissionFilter[] | null;
  private lastUpdate: Int32Array | null;
  /** The step being trained: rows made now, and updates, are stamped with it. */
  clock = 0;
  readonly counts: DynamicRowCounts = { admitted: 0, rejected: 0, evicted: 0 };
  private readonly defaultRow: Float32Array | null;

  constructor(
    spec: TableSpec,
    seed: number,
    readonly optimizer: SparseOptimizerConfig | null = null,
    /** The shard count whose per-shard admission sketches and capacities this table follows. */
    readonly numShards = 1,
  ) {
    this.spec = spec;
    this.trainable = !spec.frozen;
    this.init = rowInitializer(spec, seed);
    const opt = optimizer ? sparseRowOptimizer(optimizer, spec.embeddingDim) : null;
    this.stateFloats = opt ? opt.stateFloatsPerRow : 0;
    this.rowBytes = 4 * (spec.embeddingDim + this.stateFloats);
    this.initState = opt && !opt.stateStartsAtZero ? (heap, at) => opt.initState(heap, at) : null;
    const admission = spec.admission;
    this.admission = admission ? Array.from({ length: numShards }, () => new AdmissionFilter(admission, seed, spec.name)) : null;
    this.lastUpdate = spec.admission || spec.eviction ? new Int32Array(PAGE_ROWS) : null;
    this.defaultRow = admission ? new Float32Array(spec.embeddingDim) : null;
    if (admission?.default === 'unknown' && this.defaultRow) this.init.fill(UNKNOWN_ID_HALF, UNKNOWN_ID_HALF, this.defaultRow, 0);
  }

  private touch(slot: number): void {
    if (!this.lastUpdate) return;
    if (slot >= this.lastUpdate.length) {
      const grown = new Int32Array(Math.max(2 * this.lastUpdate.length, slot + 1));
      grown.set(this.lastUpdate);
      this.lastUpdate = grown;
    }
    this.lastUpdate[slot] = this.clock;
  }

  private readonly initState: ((heap: Float32Array, offset: number) => void) | null;

  /** Rows held. */
  get size(): number {
    return this.index.size;
  }

  private offsetOf(slot: number): number {
    return this.pages[slot >>> PAGE_SHIFT] + (slot & (PAGE_ROWS - 1)) * this.rowBytes;
  }

  /** The slot of an id, its row materialised with the id's deterministic init on first sight. */
  private slotOf(lo: number, hi: number): number {
    const before = this.index.size;
    const slot = this.index.getOrInsert(lo, hi);
    if (this.index.size === before) return slot;
    const page = slot >>> PAGE_SHIFT;
    while (this.pages.length <= page) this.pages.push(this.memory.alloc(PAGE_ROWS * this.rowBytes));
    if (this.slotIds.length < 2 * this.pages.length * PAGE_ROWS) {
      const grown = new Uint32Array(2 * this.pages.length * PAGE_ROWS);
      grown.set(this.slotIds);
      this.slotIds = grown;
    }
    this.slotIds[2 * slot] = lo;
    this.slotIds[2 * slot + 1] = hi;
    const at = this.offsetOf(slot) / 4;
    const heap = this.memory.heapF32;
    this.init.fill(lo, hi, heap, at);
    heap.fill(0, at + this.spec.embeddingDim, at + this.rowBytes / 4);
    this.initState?.(heap, at + this.spec.embeddingDim);
    this.touch(slot);
    return slot;
  }

  lookup(indices: RowIds): RowLookup {
    validateIndices(this.spec, indices);
    const dim = this.spec.embeddingDim;
    const { unique, inverse } = dedupeIds64(idHalves(indices));
    const n = unique.length / 2;
    const slots = new Int32Array(n);
    // With admission, looking an id up does not give it a row: it reads the default row.
    if (this.admission) for (let i = 0; i < n; i++) slots[i] = this.index.get(unique[2 * i], unique[2 * i + 1]);
    else for (let i = 0; i < n; i++) slots[i] = this.slotOf(unique[2 * i], unique[2 * i + 1]);
    // Every row exists now: the heap view stays valid below.
    const heap = this.memory.heapF32;
    const rows = allocF32(n * dim);
    const { maxNorm, normType } = this.spec;
    for (let i = 0; i < n; i++) {
      if (slots[i] < 0) {
        rows.set(this.defaultRow as Float32Array, i * dim);
        continue;
      }
      const at = this.offsetOf(slots[i]) / 4;
      if (maxNorm !== null) renormRow(heap, at, dim, maxNorm, normType);
      rows.set(heap.subarray(at, at + dim), i * dim);
    }
    if (!this.trainable) return { rows, rowOf: inverse, grad: null, gradientFlowed() {} };
    const entry = { ids: unique, rows: allocF32(n * dim), order: this.lookups++ };
    let flowed = false;
    return {
      rows,
      rowOf: inverse,
      grad: entry.rows,
      gradientFlowed: () => {
        if (flowed) return;
        flowed = true;
        this.pending.push(entry);
      },
    };
  }

  /**
   * The gradient since the last call, duplicate ids across lookups summed in lookup order
   * (as a shard sums a push's duplicate rows, in input order); null when nothing flowed.
   */
  takeGrad(): HashedSparseGrad | null {
    const parts = this.pending.sort((a, b) => a.order - b.order);
    this.pending = [];
    this.lookups = 0;
    if (parts.length === 0) return null;
    const dim = this.spec.embeddingDim;
    // One lookup: its ids are distinct already, its rows the gradient as it stands (as a shard copies a push without duplicates).
    if (parts.length === 1) {
      const only = parts[0].ids;
      return { ids: new BigUint64Array(only.buffer, only.byteOffset, only.length / 2), rows: parts[0].rows };
    }
    let total = 0;
    for (const p of parts) total += p.ids.length / 2;
    const all = new Uint32Array(2 * total);
    let at = 0;
    for (const p of parts) {
      all.set(p.ids, at);
      at += p.ids.length;
    }
    const { unique, inverse } = dedupeIds64(all);
    const rows = new Float32Array((unique.length / 2) * dim);
    let pos = 0;
    for (const p of parts) {
      for (let i = 0; i < p.ids.length / 2; i++, pos++) addRow(p.rows, i * dim, rows, inverse[pos] * dim, dim);
    }
    return { ids: new BigUint64Array(unique.buffer, unique.byteOffset, unique.length / 2), rows };
  }

  /**
   * One optimizer step over the gradient's rows (distinct ids), by the shards' kernel; returns
   * the rows updated.
   */
  applyGradient(grad: HashedSparseGrad, ctx: SparseStepContext): number {
    if (!this.optimizer) throw new RangeError(`table '${this.spec.name}' was made without an optimizer`);
    const dim = this.spec.embeddingDim;
    const halves = idHalves(grad.ids);
    const all = grad.ids.length;
    // Ids with a row are updated; with admission, the others are offered to it (after the update, as a shard does).
    const slots: number[] = [];
    const positions: number[] = [];
    const waiting: number[] = [];
    for (let i = 0; i < all; i++) {
      const slot = this.admission
        ? this.index.get(halves[2 * i], halves[2 * i + 1])
        : this.slotOf(halves[2 * i], halves[2 * i + 1]);
      if (slot < 0) waiting.push(i);
      else {
        slots.push(slot);
        positions.push(i);
      }
    }
    const n = slots.length;
    if (n > 0) {
      const offs = this.memory.alloc(8 * n, false);
      const g = this.memory.alloc(4 * n * dim, false);
      const u32 = this.memory.u32(offs, 2 * n);
      const rows = this.memory.f32(g, n * dim);
      for (let k = 0; k < n; k++) {
        u32[k] = this.offsetOf(slots[k]);
        u32[n + k] = this.offsetOf(slots[k]) + 4 * dim;
        rows.set(grad.rows.subarray(positions[k] * dim, (positions[k] + 1) * dim), k * dim);
      }
      optimizerRows(this.memory.exports, this.optimizer, n, dim, offs, offs + 4 * n, g, ctx);
      this.memory.release(g, 4 * n * dim);
      this.memory.release(offs, 8 * n);
      for (const slot of slots) this.touch(slot);
    }
    if (this.admission) {
      for (const i of waiting) {
        const lo = halves[2 * i];
        const hi = halves[2 * i + 1];
        if (this.admission[shardOfHashed(lo, hi, this.numShards)].offer(lo, hi, this.clock)) {
          this.slotOf(lo, hi);
          this.counts.admitted++;
        } else this.counts.rejected++;
      }
    }
    return n;
  }

  /**
   * The end of step `step`: rows idle for ttlSteps, then the least recently updated past each
   * shard's capacity, are evicted (chooseEvictions), as every shard does at the same boundary.
   */
  endStep(step: number): number {
    this.clock = step + 1;
    const spec = this.spec.eviction;
    if (!spec || !this.lastUpdate) return 0;
    const eviction = { ttlSteps: spec.ttlSteps, capacityRows: capacityRowsOf(spec, this.spec.embeddingDim, this.stateFloats) };
    const byShard: { slot: number[]; lo: number[]; hi: number[]; last: number[] }[] = Array.from(
      { length: this.numShards },
      () => ({ slot: [], lo: [], hi: [], last: [] }),
    );
    for (let slot = 0; slot < this.index.slotsUsed; slot++) {
      const lo = this.slotIds[2 * slot];
      const hi = this.slotIds[2 * slot + 1];
      if (this.index.get(lo, hi) !== slot) continue;
      const b = byShard[shardOfHashed(lo, hi, this.numShards)];
      b.slot.push(slot);
      b.lo.push(lo);
      b.hi.push(hi);
      b.last.push(this.lastUpdate[slot]);
    }
    let evicted = 0;
    for (const b of byShard) {
      for (const v of chooseEvictions(eviction, step, b.slot.length, b.last, b.lo, b.hi)) {
        this.index.remove(b.lo[v], b.hi[v]);
        evicted++;
      }
    }
    this.counts.evicted += evicted;
    return evicted;
  }

  /** The last update step of each id (held ids; -1 for others). */
  lastUpdates(ids: RowIds): Int32Array {
    const halves = idHalves(ids);
    return Int32Array.from({ length: ids.length }, (_, i) => {
      const slot = this.index.get(halves[2 * i], halves[2 * i + 1]);
      return slot < 0 || !this.lastUpdate ? -1 : this.lastUpdate[slot];
    });
  }

  /** The ids held, in slot order (the order of first touch). */
  ids(): BigUint64Array {
    const n = this.index.slotsUsed;
    const out = new BigUint64Array(this.index.size);
    const words = new Uint32Array(out.buffer);
    let k = 0;
    for (let slot = 0; slot < n; slot++) {
      const lo = this.slotIds[2 * slot];
      const hi = this.slotIds[2 * slot + 1];
      if (this.index.get(lo, hi) !== slot) continue;
      words[2 * k] = lo;
      words[2 * k + 1] = hi;
      k++;
    }
    return out;
  }

  /**
   * Rows of `ids` as they stand, [ids.length, dim]: held rows as they are, others as a lookup
   * would read them (the default row with admission, else their deterministic init), without
   * materialising them.
   */
  read(ids: RowIds): Float32Array {
    const dim = this.spec.embeddingDim;
    const halves = idHalves(ids);
    const out = new Float32Array(ids.length * dim);
    const heap = this.memory.heapF32;
    for (let i = 0; i < ids.length; i++) {
      const slot = this.index.get(halves[2 * i], halves[2 * i + 1]);
      if (slot < 0 && this.defaultRow) out.set(this.defaultRow, i * dim);
      else if (slot < 0) this.init.fill(halves[2 * i], halves[2 * i + 1], out, i * dim);
      else {
        const at = this.offsetOf(slot) / 4;
        out.set(heap.subarray(at, at + dim), i * dim);
      }
    }
    return out;
  }

  /** Optimizer state of `ids` (held rows; zeros elsewhere), [ids.length, state floats]. */
  readState(ids: RowIds): Float32Array {
    const dim = this.spec.embeddingDim;
    const halves = idHalves(ids);
    const out = new Float32Array(ids.length * this.stateFloats);
    const heap = this.memory.heapF32;
    for (let i = 0; i < ids.length; i++) {
      const slot = this.index.get(halves[2 * i], halves[2 * i + 1]);
      if (slot < 0) continue;
      const at = this.offsetOf(slot) / 4 + dim;
      out.set(heap.subarray(at, at + this.stateFloats), i * this.stateFloats);
    }
    return out;
  }
}
