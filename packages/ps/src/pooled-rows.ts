import { Deduper, ErrorCodes, type IdArray, type PullPart, type PushPart, RowshardError, renormRow } from '@rowshard/core';
import { type KernelMemory, KernelMemoryFull, planIdTree, sizeClass } from '@rowshard/kernels';
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
  const bags = part.bagCount;
  const out = into ? into.subarray(0, bags * dim) : new Float32Array(bags * dim);
  const rowBytes = 4 * dim;
  if (!part.idTree) {
    addRowsInMemory(store.memory, n, dim, bags, 0, out, (src, dst, at) => {
      for (let i = 0; i < n; i++) {
        src[i] = store.weightByteOffset(slots[i]);
        dst[i] = at.block + part.bags[i] * rowBytes;
      }
    });
    return out;
  }
  // The tree's nodes, then the bags' sums, in one block: the rows into their leaves, the
  // combines, and each bag's root into its (zeroed) output row, which gives the root's bits (no
  // node is −0). A bag of a part has a position, so a root.
  const plan = planIdTree(numbers(part.ids), part.bags, n, bags);
  addRowsInMemory(store.memory, n + plan.combines + bags, dim, plan.nodes + bags, plan.nodes, out, (src, dst, at) => {
    for (let i = 0; i < n; i++) {
      src[i] = store.weightByteOffset(slots[i]);
      dst[i] = at.block + plan.leafNode[i] * rowBytes;
    }
    for (let c = 0; c < plan.combines; c++) {
      src[n + c] = at.block + plan.from[c] * rowBytes;
      dst[n + c] = at.block + plan.into[c] * rowBytes;
    }
    for (let b = 0; b < bags; b++) {
      src[n + plan.combines + b] = at.block + plan.root[b] * rowBytes;
      dst[n + plan.combines + b] = at.block + (plan.nodes + b) * rowBytes;
    }
  });
  return out;
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
  addRowsInMemory(
    store.memory,
    n,
    dim,
    distinct,
    0,
    grads,
    (src, dst, at) => {
      for (let p = 0; p < n; p++) {
        src[p] = at.source + part.bags[p] * rowBytes;
        dst[p] = at.block + distinctOf[p] * rowBytes;
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

/** Byte offsets: in the memory, a Uint32Array; in JavaScript, past its end, maybe more. */
type Offsets = Uint32Array | Float64Array;

/**
 * Row adds in one addRowsAt kernel call, over a block of `blockRows` rows zeroed first: for
 * i < adds in order, the row at byte offset src[i] is added into the row at dst[i], both
 * absolute offsets that `setOffsets` fills, given where the block and `source` (copied in,
 * where given) lie. Then `out` gets the block's rows from `firstOutRow` on. A memory with no
 * room for the blocks adds in JavaScript, at offsets past the memory's end standing for the
 * block and the source (float32 sums of the same order: the same bits).
 */
function addRowsInMemory(
  memory: KernelMemory,
  adds: number,
  dim: number,
  blockRows: number,
  firstOutRow: number,
  out: Float32Array,
  setOffsets: (src: Offsets, dst: Offsets, at: { block: number; source: number }) => void,
  source: Float32Array | null = null,
): void {
  const offsBytes = sizeClass(8 * Math.max(1, adds));
  const blockBytes = sizeClass(4 * Math.max(1, blockRows * dim));
  const sourceBytes = source ? sizeClass(4 * Math.max(1, source.length)) : 0;
  const blocks: [number, number][] = [];
  try {
    blocks.push([memory.alloc(offsBytes, false), offsBytes]);
    blocks.push([memory.alloc(blockBytes, true), blockBytes]);
    if (source) blocks.push([memory.alloc(sourceBytes, false), sourceBytes]);
  } catch (e) {
    for (const [at, bytes] of blocks.reverse()) memory.release(at, bytes);
    if (!(e instanceof KernelMemoryFull)) throw e;
    addRowsInJavaScript(memory, adds, dim, blockRows, firstOutRow, out, setOffsets, source);
    return;
  }
  const [offs] = blocks[0];
  const [blockAt] = blocks[1];
  const src = memory.u32(offs, adds);
  const dst = memory.u32(offs + 4 * adds, adds);
  const sourceAt = source ? blocks[2][0] : 0;
  if (source) memory.f32(sourceAt, source.length).set(source);
  setOffsets(src, dst, { block: blockAt, source: sourceAt });
  memory.exports.addRowsAt(adds, dim, offs, offs + 4 * adds);
  out.set(memory.f32(blockAt + 4 * firstOutRow * dim, out.length));
  // Latest first: a block at the top lowers the top.
  for (const [at, bytes] of blocks.reverse()) memory.release(at, bytes);
}

/** addRowsInMemory's adds in JavaScript: the block and the source stand at offsets past the memory's end. */
function addRowsInJavaScript(
  memory: KernelMemory,
  adds: number,
  dim: number,
  blockRows: number,
  firstOutRow: number,
  out: Float32Array,
  setOffsets: (src: Offsets, dst: Offsets, at: { block: number; source: number }) => void,
  source: Float32Array | null,
): void {
  const heap = memory.heapF32;
  const block = new Float32Array(blockRows * dim);
  const at = { block: heap.byteLength, source: heap.byteLength + block.byteLength };
  // Float64: past the end of a memory of 4 GiB is past what a Uint32Array holds.
  const src = new Float64Array(adds);
  const dst = new Float64Array(adds);
  setOffsets(src, dst, at);
  const resolve = (offset: number): [Float32Array, number] => {
    if (offset >= at.source && source) return [source, (offset - at.source) / 4];
    if (offset >= at.block) return [block, (offset - at.block) / 4];
    return [heap, offset / 4];
  };
  for (let i = 0; i < adds; i++) {
    const [from, s] = resolve(src[i]);
    const [to, d] = resolve(dst[i]);
    for (let k = 0; k < dim; k++) to[d + k] += from[s + k];
  }
  out.set(block.subarray(firstOutRow * dim, firstOutRow * dim + out.length));
}
