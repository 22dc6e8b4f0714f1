import { Deduper, type IdArray, renormRow, type SparseStepContext } from '@rowshard/core';
import { sizeClass } from '@rowshard/kernels';
import type { RowStore } from './row-store.js';

/**
 * A request part against a table's rows, each as one WebAssembly kernel call over rows where
 * they live (docs/ARCHITECTURE.md, "One training step"). Ids become slots (materialising
 * rows), byte offsets of those rows go into a scratch block of the shard's memory, and the
 * kernel walks them.
 */

/** Growable scratch for slots and their distinct numbers, reused across requests. */
let slotScratch = new Int32Array(4096);
let keptSlots = new Int32Array(4096);
let distinctScratch = new Int32Array(4096);

function ensureScratch(n: number): void {
  if (slotScratch.length >= n && keptSlots.length >= n) return;
  let size = Math.max(slotScratch.length, keptSlots.length);
  while (size < n) size *= 2;
  if (slotScratch.length < size) slotScratch = new Int32Array(size);
  if (keptSlots.length < size) {
    keptSlots = new Int32Array(size);
    distinctScratch = new Int32Array(size);
  }
}

const deduper = new Deduper();

/**
 * Numbers the distinct values among slots[0..n) in first-occurrence order: distinctOf[i] is
 * slot i's number, and the count is returned. The deduper's tables are reused across
 * requests: they stay in the CPU's caches, where stamps beside the rows would not.
 */
function numberDistinct(slots: Int32Array, n: number, distinctOf: Int32Array): number {
  deduper.reset(n);
  for (let i = 0; i < n; i++) distinctOf[i] = deduper.indexOf(slots[i]);
  return deduper.count;
}

/** The (lo, hi) uint32 halves of 64-bit ids, without BigInt arithmetic. */
export function idHalves(ids: IdArray): Uint32Array {
  if (ids instanceof BigUint64Array) return new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
  const out = new Uint32Array(ids.length * 2);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    out[2 * i] = v >>> 0;
    out[2 * i + 1] = Math.floor(v / 4294967296);
  }
  return out;
}

/** Slots of a part's ids (rows materialised), into slotScratch; -1 for the padding row. */
function slotsOf(store: RowStore, ids: IdArray): Int32Array {
  if (slotScratch.length < ids.length) ensureScratch(ids.length);
  const slots = slotScratch;
  if (store.spec.kind === 'hashed') {
    const halves = idHalves(ids);
    for (let i = 0; i < ids.length; i++) slots[i] = store.slotOf(halves[2 * i], halves[2 * i + 1]);
    return slots;
  }
  const padding = store.spec.paddingIdx ?? -1;
  if (ids instanceof Uint32Array || ids instanceof Int32Array) {
    // The common case, one monomorphic loop per array kind.
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i];
      slots[i] = row === padding ? -1 : store.slotOf(row, 0);
    }
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
  const slots = store.spec.kind === 'hashed' ? slotsOf(store, ids) : slotsWithPadding(store, ids);
  const { maxNorm, normType } = store.spec;
  if (maxNorm !== null) {
    const heap = store.memory.heapF32;
    for (let i = 0; i < n; i++) renormRow(heap, store.weightOffset(slots[i]), dim, maxNorm, normType);
  }
  const memory = store.memory;
  const offsBytes = sizeClass(4 * n);
  const outBytes = sizeClass(4 * n * dim);
  const offs = memory.alloc(offsBytes, false);
  const out = memory.alloc(outBytes, false);
  const u32 = memory.u32(offs, n);
  for (let i = 0; i < n; i++) u32[i] = store.weightByteOffset(slots[i]);
  memory.exports.gatherRows(n, dim, offs, out);
  const gathered = memory.f32(out, n * dim);
  const rows = into ? into.subarray(0, n * dim) : new Float32Array(n * dim);
  rows.set(gathered);
  memory.release(offs, offsBytes);
  memory.release(out, outBytes);
  return rows;
}

/** Slots for a pull: the padding row is a row like any other there (it reads as zeros). */
function slotsWithPadding(store: RowStore, ids: IdArray): Int32Array {
  if (slotScratch.length < ids.length) ensureScratch(ids.length);
  for (let i = 0; i < ids.length; i++) slotScratch[i] = store.slotOf(Number(ids[i]), 0);
  return slotScratch;
}

/** One table's gradient rows from one sender: in BSP, a step applies every rank's part at once. */
export interface GradientPart {
  readonly ids: IdArray;
  readonly grads: Float32Array;
}

/**
 * Applies a table's push parts with its optimizer, as one step: gradient rows of duplicate ids
 * are summed in input order, part after part (PyTorch coalesces a sparse gradient; in BSP the
 * parts are the ranks' in rank order, so the sum is the same whatever the arrival order), the
 * padding row is left out, and each distinct row is updated once, by one kernel call. The parts
 * are copied straight into the shard's memory; nothing is concatenated. Returns the rows
 * updated.
 */
export function applyPush(store: RowStore, parts: readonly GradientPart[], ctx: SparseStepContext): number {
  const optimizer = store.optimizer;
  if (!optimizer) return 0;
  const dim = store.dim;
  let total = 0;
  for (const part of parts) total += part.ids.length;
  ensureScratch(total);
  // Slots of every kept position, part after part; the padding row's positions are set aside.
  let kept = 0;
  let padded = false;
  for (const part of parts) {
    const slots = slotsOf(store, part.ids);
    for (let i = 0; i < part.ids.length; i++) {
      if (slots[i] < 0) padded = true;
      else keptSlots[kept++] = slots[i];
    }
  }
  const distinct = numberDistinct(keptSlots, kept, distinctScratch);
  if (distinct === 0) return 0;
  const memory = store.memory;
  const offsBytes = sizeClass(8 * distinct);
  const gradBytes = sizeClass(4 * distinct * dim);
  const straight = distinct === total && parts.length === 1;
  const offs = memory.alloc(offsBytes, false);
  // The scatter-add sums into g, so g starts at zero; a straight copy overwrites it.
  const g = memory.alloc(gradBytes, !straight);
  let src = -1;
  let idx = -1;
  const srcBytes = sizeClass(4 * kept * dim);
  const idxBytes = sizeClass(4 * kept);
  if (!straight) {
    src = memory.alloc(srcBytes, false);
    idx = memory.alloc(idxBytes, false);
  }
  // Every allocation is made: views from here on stay valid.
  const u32 = memory.u32(offs, 2 * distinct);
  for (let k = 0; k < kept; k++) {
    const d = distinctScratch[k];
    u32[d] = store.weightByteOffset(keptSlots[k]);
    u32[distinct + d] = store.stateByteOffset(keptSlots[k]);
  }
  if (straight) memory.f32(g, total * dim).set(parts[0].grads);
  else {
    // Sum duplicates in input order: the kept rows go to a staging block, then scatter-add
    // into the zeroed distinct rows.
    const staged = memory.f32(src, kept * dim);
    let k = 0;
    for (const part of parts) {
      if (!padded) {
        staged.set(part.grads, k * dim);
        k += part.ids.length;
        continue;
      }
      const padding = store.spec.paddingIdx;
      for (let i = 0; i < part.ids.length; i++) {
        if (Number(part.ids[i]) === padding) continue;
        staged.set(part.grads.subarray(i * dim, (i + 1) * dim), k * dim);
        k++;
      }
    }
    memory.i32(idx, kept).set(distinctScratch.subarray(0, kept));
    memory.exports.scatterAddRows(kept, dim, src, idx, g, 1);
    memory.release(src, srcBytes);
    memory.release(idx, idxBytes);
  }
  updateRows(store, distinct, offs, offs + 4 * distinct, g, ctx);
  memory.release(offs, offsBytes);
  memory.release(g, gradBytes);
  return distinct;
}

/** One optimizer kernel call over `n` rows (byte offsets of weights at wOffs, of state at sOffs). */
function updateRows(store: RowStore, n: number, wOffs: number, sOffs: number, grads: number, ctx: SparseStepContext): void {
  const k = store.memory.exports;
  const config = (store.optimizer as NonNullable<RowStore['optimizer']>).config;
  const dim = store.dim;
  switch (config.kind) {
    case 'sgd':
      k.sgdRows(n, dim, wOffs, grads, ctx.lr, config.weightDecay);
      return;
    case 'adagrad':
      k.adagradRows(n, dim, wOffs, sOffs, grads, ctx.lr / (1 + (ctx.step - 1) * config.lrDecay), config.weightDecay, config.eps);
      return;
    case 'sparse_adam': {
      const [beta1, beta2] = config.betas;
      const stepSize = (ctx.lr * Math.sqrt(1 - beta2 ** ctx.step)) / (1 - beta1 ** ctx.step);
      k.sparseAdamRows(n, dim, wOffs, sOffs, grads, stepSize, beta1, beta2, config.eps);
      return;
    }
    case 'rowwise_adagrad':
      k.rowwiseAdagradRows(n, dim, wOffs, sOffs, grads, ctx.lr, config.weightDecay, config.eps);
  }
}
