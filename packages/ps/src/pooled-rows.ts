import {
  Deduper,
  ErrorCodes,
  ID_TREE_LEAVES,
  type IdArray,
  type PullPart,
  type PushPart,
  RowshardError,
  renormRow,
} from '@rowshard/core';
import { idTreeLeaves, idTreeSumsInJs, type KernelMemory } from '@rowshard/kernels';
import { kernelBlocks } from './kernel-blocks.js';
import { firstNonFinite } from './request-checks.js';
import { rowSumNotFinite, slotsOf } from './row-kernels.js';
import type { RowStore } from './row-store.js';

/**
 * Pooled parts (EmbeddingBag on the shard; core's ps-protocol.ts): a pull of one is answered
 * with each bag's sum of this shard's rows instead of the rows, and a push of one carries each
 * bag's gradient instead of each row's. Where a bag's rows are many (fastText: a text's words
 * and n-grams), that moves one row per bag over the wire instead of one per distinct id. The
 * sums run in position order, as the worker's bag kernels do, so a job with one shard gets the
 * bits it would get pulling rows; or, where the part asks (BSP), in the id tree's order, which
 * the worker's bag forward then keeps too, whatever the shard count.
 */

/** Numbers distinct ids (a push's) and slots (a pull's max_norm), reused from request to request. */
const deduper = new Deduper();

/** A part that carries bags. */
export type PooledPart<P extends PullPart = PullPart> = P & { readonly bags: Int32Array; readonly bagCount: number };

export function isPooled<P extends PullPart>(part: P): part is PooledPart<P> {
  return part.bags !== undefined && part.bagCount !== undefined;
}

/** Pooling needs rows by number: a hashed table's 64-bit ids are pulled and pushed as rows. */
export function checkPoolable(store: RowStore, part: PooledPart): void {
  const table = store.spec.name;
  if (store.spec.kind !== 'dense') {
    throw new RowshardError(
      ErrorCodes.BAD_REQUEST,
      `table '${table}' is hashed: pooled parts (bags) are for dense tables; pull and push its rows`,
      { table, field: 'bags' },
    );
  }
  if (part.ids instanceof BigUint64Array) {
    throw new RowshardError(
      ErrorCodes.BAD_REQUEST,
      `table '${table}' is dense: its ids are numbers (Int32Array, Uint32Array or Float64Array), not a BigUint64Array`,
      { table, field: 'ids' },
    );
  }
}

/**
 * Each bag's sum of the rows of `part` (checked: its ids are this shard's), [bagCount · dim],
 * into `into` (at least that long) or a new array: zeros plus each position's row, in position
 * order, or in the id tree's order where the part asks for it (`idTree`: BSP's, id-tree.ts in
 * kernels). Rows are renormalised with max_norm first, as a pull of them would be.
 */
export function pooledSums(store: RowStore, part: PooledPart, into: Float32Array | null): Float32Array {
  const n = part.ids.length;
  const dim = store.dim;
  const slots = slotsOf(store, part.ids, -1);
  const { maxNorm, normType } = store.spec;
  if (maxNorm !== null) {
    // Each distinct row once, as a pull of the distinct ids renormalises it (and PyTorch's
    // embedding_renorm_ its unique indices): a second pass would move a row's last bits.
    const heap = store.memory.heapF32;
    deduper.reset(n);
    for (let i = 0; i < n; i++) {
      const before = deduper.count;
      deduper.indexOf(slots[i]);
      if (deduper.count !== before) renormRow(heap, store.weightOffset(slots[i]), dim, maxNorm, normType);
    }
  }
  const out = into ? into.subarray(0, part.bagCount * dim) : new Float32Array(part.bagCount * dim);
  if (part.idTree) {
    idTreeSums(store, part, slots, out);
    return out;
  }
  const rowBytes = 4 * dim;
  // Fields read once: a part is an object of the decoder's making, whose loads in a loop cost.
  const bagOf = part.bags;
  addRowsInMemory(store.memory, n, dim, part.bagCount, out, (src, dst) => {
    for (let i = 0; i < n; i++) {
      src[i] = store.weightByteOffset(slots[i]);
      dst[i] = bagOf[i] * rowBytes;
    }
  });
  return out;
}

/** A part's positions grouped by bag (a stable counting sort), and each bag's first, reused from pull to pull. */
let orderScratch = new Int32Array(4096);
let boundsScratch = new Int32Array(1024);

/**
 * pooledSums in the id tree's order: the positions grouped by bag (a part's bags need not be
 * in order), then one idTreeSums kernel call over the rows where they lie, or the same sums in
 * JavaScript where the memory has no room for the call's blocks.
 */
function idTreeSums(store: RowStore, part: PooledPart, slots: Int32Array, out: Float32Array): void {
  const n = part.ids.length;
  const bags = part.bagCount;
  const dim = store.dim;
  if (orderScratch.length < n) orderScratch = new Int32Array(Math.max(n, 2 * orderScratch.length));
  if (boundsScratch.length < bags + 1) boundsScratch = new Int32Array(Math.max(bags + 1, 2 * boundsScratch.length));
  const order = orderScratch;
  const bagOf = part.bags;
  const bounds = boundsScratch.subarray(0, bags + 1);
  bounds.fill(0);
  let grouped = true;
  for (let p = 0; p < n; p++) {
    bounds[bagOf[p] + 1]++;
    if (p > 0 && bagOf[p] < bagOf[p - 1]) grouped = false;
  }
  for (let b = 0; b < bags; b++) bounds[b + 1] += bounds[b];
  // A worker's parts come grouped (routeBags): the positions are in bag order already.
  if (grouped) for (let p = 0; p < n; p++) order[p] = p;
  else {
    for (let p = 0; p < n; p++) order[bounds[bagOf[p]]++] = p;
    // Each bag's start moved to its end: shift back.
    bounds.copyWithin(1, 0, bags);
    bounds[0] = 0;
  }
  const ids = numbers(part.ids);
  const memory = store.memory;
  const blocks = kernelBlocks(memory, [4 * (bags + 1 + 2 * n), 4 * (bags + ID_TREE_LEAVES) * dim]);
  if (!blocks) {
    const rowStart = Float64Array.from(order.subarray(0, n), (p) => store.weightOffset(slots[p]));
    const leafOf = idTreeLeaves(
      Float64Array.from(order.subarray(0, n), (p) => ids[p]),
      n,
      new Int32Array(n),
    );
    idTreeSumsInJs(bounds, rowStart, leafOf, memory.heapF32, out, dim);
    return;
  }
  const [boundsAt, outAt] = blocks.at;
  const srcAt = boundsAt + 4 * (bags + 1);
  const leafAt = srcAt + 4 * n;
  const scratchAt = outAt + 4 * bags * dim;
  memory.i32(boundsAt, bags + 1).set(bounds);
  const src = memory.u32(srcAt, n);
  const leafOf = memory.i32(leafAt, n);
  const mask = ID_TREE_LEAVES - 1;
  for (let k = 0; k < n; k++) {
    const p = order[k];
    src[k] = store.weightByteOffset(slots[p]);
    leafOf[k] = ids[p] & mask;
  }
  memory.exports.idTreeSums(bags, dim, ID_TREE_LEAVES, boundsAt, srcAt, leafAt, outAt, scratchAt);
  out.set(memory.f32(outAt, bags * dim));
  blocks.release();
}

/**
 * Checks a pooled push part's gradients against its bags before anything is applied: one row
 * per bag, every value finite. (Its table and ids are checkPoolable's and checkIds'.)
 */
export function checkPooledPush(store: RowStore, part: PooledPart<PushPart>): void {
  const dim = store.dim;
  const table = store.spec.name;
  if (part.grads.length !== part.bagCount * dim) {
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `table '${table}': a pooled gradient has ${part.grads.length} values; ${part.bagCount} bags × dim ${dim} need ${part.bagCount * dim}`,
      { table, expected: part.bagCount * dim, got: part.grads.length },
    );
  }
  const bad = firstNonFinite(part.grads, store.memory);
  if (bad >= 0) {
    const bag = Math.floor(bad / dim);
    throw new RowshardError(
      ErrorCodes.BAD_GRADIENT,
      `table '${table}': the gradient of bag ${bag} holds ${part.grads[bad]}; nothing was applied`,
      { table, bag, value: String(part.grads[bad]) },
    );
  }
}

/** Each position's distinct row in rowsOfPooledPush, reused from push to push. */
let distinctOfScratch = new Int32Array(4096);

/**
 * A pooled push part (checked: checkPooledPush) as the push of its rows: its distinct ids in
 * order of first occurrence, each with the sum, in position order, of the gradients of the
 * bags it is in. Applied so, a part gives what the worker's bag backward and a push of its
 * rows would have given. The ids and the sums go into arrays `buffer` gives (at least the
 * floats asked for; the ids as a Uint32Array view of one): the shard's pooled row buffers, so
 * that nothing is allocated per push.
 */
export function rowsOfPooledPush(
  store: RowStore,
  part: PooledPart<PushPart>,
  buffer: (floats: number) => Float32Array,
): PushPart {
  const dim = store.dim;
  const table = store.spec.name;
  const n = part.ids.length;
  const ids = numbers(part.ids);
  deduper.reset(n);
  if (distinctOfScratch.length < n) distinctOfScratch = new Int32Array(Math.max(n, 2 * distinctOfScratch.length));
  const distinctOf = distinctOfScratch;
  for (let p = 0; p < n; p++) distinctOf[p] = deduper.indexOf(ids[p]);
  const distinct = deduper.count;
  const unique = new Uint32Array(buffer(distinct).buffer, 0, distinct);
  unique.set(deduper.distinct().subarray(0, distinct));
  // addRowsInMemory sets every value.
  const grads = buffer(distinct * dim).subarray(0, distinct * dim);
  const rowBytes = 4 * dim;
  const bagOf = part.bags;
  addRowsInMemory(
    store.memory,
    n,
    dim,
    distinct,
    grads,
    (src, dst) => {
      for (let p = 0; p < n; p++) {
        src[p] = bagOf[p] * rowBytes;
        dst[p] = distinctOf[p] * rowBytes;
      }
    },
    part.grads,
  );
  // Finite bags can still add up past float32 in a row that many positions share.
  const over = firstNonFinite(grads, store.memory);
  if (over >= 0) throw rowSumNotFinite(table, String(unique[Math.floor(over / dim)]), grads[over]);
  return { table: part.table, ids: unique, grads, lr: part.lr, step: part.step };
}

function numbers(ids: IdArray): ArrayLike<number> {
  if (ids instanceof BigUint64Array) throw new RowshardError(ErrorCodes.INTERNAL, 'pooled part with 64-bit ids');
  return ids;
}

/**
 * out (`outRows` rows, zeroed first) += row by row, for i < n: the row at source offset src[i]
 * added into out's row at dst[i], both byte offsets `setOffsets` fills; dst is relative to
 * out, and src is relative to `source` where given (copied in), else to the memory itself. One
 * addRowsAt kernel call; a memory with no room for the blocks adds in JavaScript (float32 sums
 * of the same order: the same bits).
 */
function addRowsInMemory(
  memory: KernelMemory,
  n: number,
  dim: number,
  outRows: number,
  out: Float32Array,
  setOffsets: (src: Uint32Array, dst: Uint32Array) => void,
  source: Float32Array | null = null,
): void {
  const sizes = [8 * Math.max(1, n), 4 * Math.max(1, outRows * dim)];
  if (source) sizes.push(4 * Math.max(1, source.length));
  const blocks = kernelBlocks(memory, sizes, [false, true, false]);
  if (!blocks) {
    const src = new Uint32Array(n);
    const dst = new Uint32Array(n);
    setOffsets(src, dst);
    const from = source ?? memory.heapF32;
    out.fill(0);
    for (let i = 0; i < n; i++) {
      const s = src[i] / 4;
      const d = dst[i] / 4;
      for (let k = 0; k < dim; k++) out[d + k] += from[s + k];
    }
    return;
  }
  const [offs, outAt, sourceAt = 0] = blocks.at;
  const src = memory.u32(offs, n);
  const dst = memory.u32(offs + 4 * n, n);
  setOffsets(src, dst);
  if (source) memory.f32(sourceAt, source.length).set(source);
  for (let i = 0; i < n; i++) {
    src[i] += sourceAt;
    dst[i] += outAt;
  }
  memory.exports.addRowsAt(n, dim, offs, offs + 4 * n);
  out.set(memory.f32(outAt, outRows * dim));
  blocks.release();
}
