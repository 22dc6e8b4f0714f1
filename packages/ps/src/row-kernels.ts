import {
  copyRow,
  Deduper,
  ErrorCodes,
  HashedIndex,
  type IdArray,
  idHalves,
  RowshardError,
  renormRow,
  type SparseStepContext,
} from '@rowshard/core';
import { type KernelMemory, optimizerRows, sizeClass } from '@rowshard/kernels';
import { kernelBlocks } from './kernel-blocks.js';
import type { RowStore } from './row-store.js';
import type { UpdateUndo } from './update-undo.js';

/**
 * A request part against a table's rows, each as one WebAssembly kernel call over rows where
 * they live (docs/ARCHITECTURE.md, "One training step"). Ids become slots (materialising
 * rows), byte offsets of those rows go into a scratch block of the shard's memory, and the
 * kernel walks them.
 */

/** Growable scratch, reused across requests: slots of a part, and per position of a push its distinct number. */
let slotScratch = new Int32Array(4096);
let distinctOf = new Int32Array(4096);
/** A push's distinct slots, in first-occurrence order. */
let distinctSlots = new Int32Array(4096);

function ensureScratch(n: number): void {
  if (slotScratch.length >= n) return;
  let size = slotScratch.length;
  while (size < n) size *= 2;
  slotScratch = new Int32Array(size);
  distinctOf = new Int32Array(size);
  distinctSlots = new Int32Array(size);
}

/**
 * Numbers a push's slots in first-occurrence order. Its tables are reused across requests:
 * they stay in the CPU's caches, where stamps beside the rows would not.
 */
const deduper = new Deduper();

/**
 * Slots of a part's ids (rows materialised), into slotScratch; -1 at positions of the row
 * `padding` (a push leaves the padding row out; a pull passes -1 and reads it like any row).
 */
export function slotsOf(store: RowStore, ids: IdArray, padding: number): Int32Array {
  ensureScratch(ids.length);
  const slots = slotScratch;
  if (store.spec.kind === 'hashed') {
    const halves = idHalves(ids);
    // With admission an id without a row stays without one (-1): it is not admitted by being looked up.
    if (store.admission) for (let i = 0; i < ids.length; i++) slots[i] = store.find(halves[2 * i], halves[2 * i + 1]);
    else for (let i = 0; i < ids.length; i++) slots[i] = store.slotOf(halves[2 * i], halves[2 * i + 1]);
    return slots;
  }
  if (ids instanceof Uint32Array || ids instanceof Int32Array) {
    // The common case.
    store.denseSlotsOf(ids, padding, slots);
    return slots;
  }
  for (let i = 0; i < ids.length; i++) {
    const row = Number(ids[i]);
    slots[i] = row === padding ? -1 : store.slotOf(row, 0);
  }
  return slots;
}

/**
 * Rows of `ids` in order (max_norm applied to the stored rows first), copied out of the
 * shard's memory into `into` (a buffer of the reply's, at least ids.length × dim floats) or a
 * new array. Returns the rows as a view of exactly that length.
 */
export function gatherRows(store: RowStore, ids: IdArray, into: Float32Array | null = null): Float32Array {
  const n = ids.length;
  const dim = store.dim;
  const slots = slotsOf(store, ids, -1);
  const { maxNorm, normType } = store.spec;
  if (maxNorm !== null) {
    const heap = store.memory.heapF32;
    for (let i = 0; i < n; i++) if (slots[i] >= 0) renormRow(heap, store.weightOffset(slots[i]), dim, maxNorm, normType);
  }
  const memory = store.memory;
  // A not-admitted id (slot -1) reads the table's default row; made before the views below.
  const defaultRow = store.admission ? store.defaultRowOffset() : -1;
  const rows = into ? into.subarray(0, n * dim) : new Float32Array(n * dim);
  gatherInto(
    memory,
    n,
    dim,
    (offsets) => {
      for (let i = 0; i < n; i++) offsets[i] = slots[i] < 0 ? defaultRow : store.weightByteOffset(slots[i]);
    },
    rows,
  );
  return rows;
}

/**
 * `n` rows of `width` floats in a shard's memory, row i at the byte offset `setOffsets` puts at
 * offsets[i], into `into` (n × width floats): one gather kernel call, then one copy out of the
 * memory, so nothing is kept there (a later request may grow it). A memory at its 4 GiB with no
 * room for the scratch still answers: the rows are copied one by one.
 */
export function gatherInto(
  memory: KernelMemory,
  n: number,
  width: number,
  setOffsets: (offsets: Uint32Array) => void,
  into: Float32Array,
): void {
  const blocks = kernelBlocks(memory, [4 * n, 4 * n * width]);
  if (!blocks) {
    const offsets = new Uint32Array(n);
    setOffsets(offsets);
    const heap = memory.heapF32;
    for (let i = 0; i < n; i++) copyRow(heap, offsets[i] / 4, into, i * width, width);
    return;
  }
  const [offs, out] = blocks.at;
  setOffsets(memory.u32(offs, n));
  memory.exports.gatherRows(n, width, offs, out);
  into.set(memory.f32(out, n * width));
  blocks.release();
}

/**
 * One table's gradient rows from one sender: in BSP, a step applies every rank's part at once.
 * A pooled part (`bags`, a dense table's, checked by checkPooledPush) carries one gradient row
 * per bag, and position p's gradient is its bag's row `bags[p]`.
 */
export interface GradientPart {
  readonly ids: IdArray;
  readonly grads: Float32Array;
  readonly bags?: Int32Array;
  readonly bagCount?: number;
}

/** The gradient rows a part carries: one per bag for a pooled part, else one per position. */
const gradientRows = (part: GradientPart) => (part.bags ? (part.bagCount ?? 0) : part.ids.length);

/**
 * Applies a table's push parts with its optimizer, as one step: gradient rows of duplicate ids
 * are summed in input order, part after part (PyTorch coalesces a sparse gradient; in BSP the
 * parts are the ranks' in rank order, so the sum is the same whatever the arrival order), the
 * padding row is left out, and each distinct row is updated once, by one kernel call. The parts
 * are copied straight into the shard's memory; nothing is concatenated. A pooled part's bag
 * gradients are summed into its distinct rows there, in position order: the bits
 * rowsOfPooledPush and a push of its rows give, without the rows' round trip through
 * JavaScript arrays. Returns the rows updated.
 */
export function applyPush(
  store: RowStore,
  parts: readonly GradientPart[],
  ctx: SparseStepContext,
  undo: UpdateUndo,
  /** Where to leave the bookkeeping of a dynamic table (last-update stamps, admissions) for when the whole request has succeeded; null: do it now. */
  after: (() => void)[] | null = null,
): number {
  const optimizer = store.optimizer;
  if (!optimizer) return 0;
  const dim = store.dim;
  const padding = store.spec.paddingIdx ?? -1;
  let total = 0;
  for (const part of parts) total += part.ids.length;
  ensureScratch(total);
  // Each position's distinct number, part after part; the padding row's positions get -1.
  deduper.reset(total);
  // Ids without a row (admission): counted once each after the update, in first-occurrence order.
  const waiting = store.admission ? new HashedIndex(2 * total) : null;
  const waitingIds: number[] = [];
  let pos = 0;
  for (const part of parts) {
    const slots = slotsOf(store, part.ids, padding);
    const halves = waiting ? idHalves(part.ids) : null;
    for (let i = 0; i < part.ids.length; i++, pos++) {
      const slot = slots[i];
      if (slot < 0 && waiting && halves) {
        const lo = halves[2 * i];
        const hi = halves[2 * i + 1];
        const before = waiting.size;
        waiting.getOrInsert(lo, hi);
        if (waiting.size !== before) waitingIds.push(lo, hi);
      }
      if (slot < 0) distinctOf[pos] = -1;
      else {
        const d = deduper.indexOf(slot);
        distinctOf[pos] = d;
        distinctSlots[d] = slot;
      }
    }
  }
  const distinct = deduper.count;
  const later = (fn: () => void) => (after ? after.push(fn) : fn());
  if (distinct === 0) {
    later(() => admitWaiting(store, waitingIds));
    return 0;
  }
  const memory = store.memory;
  const pooled = parts.some((p) => p.bags !== undefined);
  // No duplicate and no padding row: the gradient rows are the distinct rows, in order.
  const straight = distinct === total && !pooled;
  let stagedRows = 0;
  for (const part of parts) stagedRows += gradientRows(part);
  const offsBytes = sizeClass(8 * distinct);
  // Otherwise one more row: the sink the padding row's positions are summed into, never applied.
  const gradBytes = sizeClass(4 * (distinct + 1) * dim);
  const srcBytes = sizeClass(4 * stagedRows * dim);
  // Per position: its distinct row (scatterAddRows), or for pooled parts its source and destination offsets (addRowsAt).
  const idxBytes = sizeClass((pooled ? 8 : 4) * total);
  const offs = memory.alloc(offsBytes, false);
  // The scatter-add sums into g, so g starts at zero; a straight copy overwrites it.
  const g = memory.alloc(gradBytes, !straight);
  const src = straight ? g : memory.alloc(srcBytes, false);
  const idx = straight ? -1 : memory.alloc(idxBytes, false);
  // Every allocation is made: views from here on stay valid.
  const u32 = memory.u32(offs, 2 * distinct);
  for (let d = 0; d < distinct; d++) {
    u32[d] = store.weightByteOffset(distinctSlots[d]);
    u32[distinct + d] = store.stateByteOffset(distinctSlots[d]);
  }
  // Each part's rows side by side: straight into g, or into a staging block for the scatter-add.
  const staged = memory.f32(src, stagedRows * dim);
  let at = 0;
  for (const part of parts) {
    staged.set(part.grads, at * dim);
    at += gradientRows(part);
  }
  if (pooled) {
    // Each position's gradient row (its bag's, for a pooled part) added in input order into its
    // zeroed distinct row, padding into the sink.
    const rowBytes = 4 * dim;
    const from = memory.u32(idx, total);
    const into = memory.u32(idx + 4 * total, total);
    let pos = 0;
    let base = 0;
    for (const part of parts) {
      const bags = part.bags;
      for (let i = 0; i < part.ids.length; i++, pos++) {
        from[pos] = src + (base + (bags ? bags[i] : i)) * rowBytes;
        into[pos] = g + (distinctOf[pos] < 0 ? distinct : distinctOf[pos]) * rowBytes;
      }
      base += gradientRows(part);
    }
    memory.exports.addRowsAt(total, dim, idx, idx + 4 * total);
    memory.release(src, srcBytes);
    memory.release(idx, idxBytes);
    // Finite bags can still add up past float32 in a row that many positions share.
    const over = memory.exports.firstNonFinite(distinct * dim, g);
    if (over >= 0) {
      const value = memory.f32(g, distinct * dim)[over];
      memory.release(offs, offsBytes);
      memory.release(g, gradBytes);
      throw rowSumNotFinite(store.spec.name, idOfDistinct(parts, Math.floor(over / dim)) ?? '?', value);
    }
  } else if (!straight) {
    // Duplicates summed in input order into the zeroed distinct rows, padding into the sink.
    const index = memory.i32(idx, total);
    for (let p = 0; p < total; p++) index[p] = distinctOf[p] < 0 ? distinct : distinctOf[p];
    memory.exports.scatterAddRows(total, dim, src, idx, g, 1);
    memory.release(src, srcBytes);
    memory.release(idx, idxBytes);
  }
  const save = undo.reserve(store, distinct, offs);
  const broken = optimizerRows(memory.exports, optimizer.config, distinct, dim, offs, offs + 4 * distinct, g, ctx, save);
  memory.release(offs, offsBytes);
  memory.release(g, gradBytes);
  if (broken >= 0) throw nonFiniteUpdate(store, parts, broken);
  if (store.dynamic) {
    // distinctSlots is scratch the next part reuses: keep this part's slots.
    const updated = distinctSlots.slice(0, distinct);
    later(() => {
      for (const slot of updated) store.touch(slot, store.clock);
      admitWaiting(store, waitingIds);
    });
  }
  return distinct;
}

/**
 * Offers each id of the step that has no row to the table's admission, once (dynamic-rows.ts):
 * one that is admitted gets a row with its deterministic init, stamped with this step; its
 * gradient of this step, taken at the default vector, is not applied.
 */
function admitWaiting(store: RowStore, waitingIds: readonly number[]): void {
  const admission = store.admission;
  if (!admission) return;
  for (let k = 0; k < waitingIds.length; k += 2) {
    const lo = waitingIds[k];
    const hi = waitingIds[k + 1];
    if (admission.offer(lo, hi, store.clock)) {
      store.slotOf(lo, hi);
      store.counts.admitted++;
    } else store.counts.rejected++;
  }
}

/** The id of distinct row `d` of the push being applied (its first position's), or null. */
function idOfDistinct(parts: readonly GradientPart[], d: number): string | null {
  let pos = 0;
  for (const part of parts)
    for (let i = 0; i < part.ids.length; i++, pos++) if (distinctOf[pos] === d) return String(part.ids[i]);
  return null;
}

/** A row's gradient made from bag gradients (the sum of its positions' bags) holds `value`, not finite. */
export function rowSumNotFinite(table: string, id: string, value: number): RowshardError {
  return new RowshardError(
    ErrorCodes.BAD_GRADIENT,
    `table '${table}': row ${id}'s gradient, the sum of its positions' bag gradients, holds ${value}; nothing was applied`,
    { table, index: id, value: String(value) },
  );
}

/** The error for an update that left distinct row `d` of the last applyPush non-finite. */
function nonFiniteUpdate(store: RowStore, parts: readonly GradientPart[], d: number): RowshardError {
  const table = store.spec.name;
  const id = idOfDistinct(parts, d);
  if (id === null) return new RowshardError(ErrorCodes.INTERNAL, `table '${table}': a non-finite update of an unknown row`);
  return new RowshardError(
    ErrorCodes.BAD_GRADIENT,
    `table '${table}': the update of row ${id} makes its weights or optimizer state non-finite (the gradient or lr is too large); the request was refused whole and nothing was applied`,
    { table, index: id },
  );
}
