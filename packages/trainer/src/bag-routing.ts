import {
  checkDenseIndices,
  copyRow,
  ErrorCodes,
  idTreeSplits,
  type PullPart,
  partSize,
  type RequestLimits,
  type RowIds,
  RowshardError,
  shardOfDense,
  type TableSpec,
} from '@rowshard/core';
import { addShardRoots } from '@rowshard/kernels';
import { allocF32, type BagOrder, type PooledBag, type PooledLookup, type RowLookup, type RowSource } from '@rowshard/nn';
import type { RoutedGradient } from './ps-client.js';
import type { PullPlan } from './pull-plan.js';

/**
 * A table whose one lookup this step is a bag the shards reduce (Model.pooledBags,
 * sync.poolBags; TorchRec's pooled embedding lookup): each shard gets the positions whose
 * rows it holds, with each position's bag, and answers each bag's sum of them; the worker adds
 * the shards' sums (in shard order), takes the mean, and sends each bag's gradient back. One
 * row per bag crosses the wire each way instead of one per distinct id.
 */
export class BagRouting {
  constructor(
    readonly spec: TableSpec,
    readonly bag: PooledBag,
    /** Per shard, the ids of the positions it holds, in position order, and each one's bag, numbered among the shard's bags. */
    readonly shardIds: readonly Uint32Array[],
    readonly shardBags: readonly Int32Array[],
    /**
     * Per shard, the bags it holds positions of (its bag k is the batch's bag shardBagIds[k]):
     * a shard answers and takes a row for those only, so the wire carries at most one row per
     * position whatever the shard count.
     */
    readonly shardBagIds: readonly Int32Array[],
    /**
     * How the bags are summed: in the id tree's order (BSP: kernels' id-tree.ts), each shard
     * its subtrees and the worker their roots, the bits of the worker's own sum whatever the
     * shard count (a power of two); or in position order, then shard order.
     */
    readonly order: BagOrder,
  ) {}

  get bagCount(): number {
    return this.bag.bounds.length - 1;
  }

  get numShards(): number {
    return this.shardIds.length;
  }

  /** What shard `shard` is sent (its positions' ids, their bags among its own, how many), or null when it holds none. */
  shardPart(shard: number): { ids: Uint32Array; bags: Int32Array; bagCount: number } | null {
    const ids = this.shardIds[shard];
    return ids.length > 0 ? { ids, bags: this.shardBags[shard], bagCount: this.shardBagIds[shard].length } : null;
  }

  /** Shard `shard`'s rows of the bags' gradients [bagCount · dim]: one per bag it holds. */
  shardGrads(grads: Float32Array, shard: number): Float32Array {
    const dim = this.spec.embeddingDim;
    const bagIds = this.shardBagIds[shard];
    if (bagIds.length === this.bagCount) return grads; // every bag, in order (one shard)
    const out = new Float32Array(bagIds.length * dim);
    for (let k = 0; k < bagIds.length; k++) out.set(grads.subarray(bagIds[k] * dim, (bagIds[k] + 1) * dim), k * dim);
    return out;
  }
}

/**
 * Whether a step's bag of `spec` goes to the shards: the table's only list is the bag's, its
 * ids are numbers of a dense table, its gradient is not scaled by frequency (a shard would
 * need the whole batch's counts), and the pooled part fits one request whatever the shards.
 */
export function poolable(spec: TableSpec, lists: readonly RowIds[], bag: PooledBag, limits: RequestLimits): boolean {
  if (lists.length !== 1 || lists[0] !== bag.ids || bag.ids instanceof BigUint64Array) return false;
  if (spec.kind !== 'dense' || spec.scaleGradByFreq) return false;
  const size = partSize({ ids: bag.ids, bagCount: bag.bounds.length - 1 }, spec.embeddingDim);
  return size.ids.length <= limits.maxRows && (size.pooledBytes ?? 0) <= limits.maxBytes;
}

/** Each position's shard, reused from step to step (a worker thread routes one step at a time). */
let scratchOwner = new Int32Array(0);

/** Checks a bag (ids in range, bounds covering them in order) and splits its positions by shard. */
export function routeBags(spec: TableSpec, bag: PooledBag, numShards: number, order: BagOrder): BagRouting {
  if (order === 'idTree' && !idTreeSplits(numShards)) {
    throw new RowshardError(
      ErrorCodes.INTERNAL,
      `the id tree does not split over ${numShards} shards: '${spec.name}' pulls rows`,
    );
  }
  const ids = bag.ids;
  if (ids instanceof BigUint64Array) {
    throw new RowshardError(ErrorCodes.BAD_REQUEST, `pooledBags '${spec.name}': bags are of dense tables' ids, not 64-bit ones`, {
      table: spec.name,
    });
  }
  const n = ids.length;
  const bounds = bag.bounds;
  const bags = bounds.length - 1;
  if (bags < 0 || bounds[0] !== 0 || bounds[bags] !== n) {
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `pooledBags '${spec.name}': bounds must run from 0 to the ${n} ids, got [${bounds[0]} .. ${bounds[bags]}]`,
      { table: spec.name },
    );
  }
  for (let b = 0; b < bags; b++) {
    if (bounds[b + 1] < bounds[b]) {
      throw new RowshardError(ErrorCodes.BAD_SHAPE, `pooledBags '${spec.name}': bounds must not decrease (bag ${b})`, {
        table: spec.name,
      });
    }
  }
  checkDenseIndices(spec.name, ids, spec.numEmbeddings);
  if (numShards === 1) return oneShard(spec, bag, ids, order);
  if (scratchOwner.length < n) scratchOwner = new Int32Array(n);
  const owner = scratchOwner;
  // shardOfDense (id mod numShards), as a mask where the count is a power of two.
  const mask = (numShards & (numShards - 1)) === 0 ? numShards - 1 : -1;
  const counts = new Int32Array(numShards);
  // The positions run bag by bag, so a shard's bags come in order too: a new one wherever a
  // position's bag is not the shard's last.
  const bagCounts = new Int32Array(numShards);
  const lastBag = new Int32Array(numShards).fill(-1);
  for (let b = 0; b < bags; b++) {
    const end = bounds[b + 1];
    for (let p = bounds[b]; p < end; p++) {
      const id: number = ids[p];
      const s = mask >= 0 ? id & mask : shardOfDense(id, numShards);
      owner[p] = s;
      counts[s]++;
      if (lastBag[s] !== b) {
        lastBag[s] = b;
        bagCounts[s]++;
      }
    }
  }
  const shardIds = Array.from(counts, (c) => new Uint32Array(c));
  const shardBags = Array.from(counts, (c) => new Int32Array(c));
  const shardBagIds = Array.from(bagCounts, (c) => new Int32Array(c));
  const fill = new Int32Array(numShards);
  const bagFill = new Int32Array(numShards);
  lastBag.fill(-1);
  for (let b = 0; b < bags; b++) {
    const end = bounds[b + 1];
    for (let p = bounds[b]; p < end; p++) {
      const s = owner[p];
      if (lastBag[s] !== b) {
        lastBag[s] = b;
        shardBagIds[s][bagFill[s]++] = b;
      }
      shardIds[s][fill[s]] = ids[p];
      shardBags[s][fill[s]++] = bagFill[s] - 1;
    }
  }
  return new BagRouting(spec, bag, shardIds, shardBags, shardBagIds, order);
}

/**
 * routeBags on one shard (ids checked): every position goes to it, in order, so nothing is routed position
 * by position (the general loop's stores through per-shard counters are most of its time: 13–17
 * ns a position, against 4–5 here, in one process); its bags are the batch's bags that have
 * positions.
 */
function oneShard(spec: TableSpec, bag: PooledBag, ids: ArrayLike<number>, order: BagOrder): BagRouting {
  const bounds = bag.bounds;
  const bags = bounds.length - 1;
  let held = 0;
  for (let b = 0; b < bags; b++) if (bounds[b + 1] > bounds[b]) held++;
  const bagOf = new Int32Array(ids.length);
  const bagIds = new Int32Array(held);
  for (let b = 0, k = 0; b < bags; b++) {
    if (bounds[b + 1] === bounds[b]) continue;
    bagIds[k] = b;
    bagOf.fill(k++, bounds[b], bounds[b + 1]);
  }
  return new BagRouting(spec, bag, [Uint32Array.from(ids)], [bagOf], [bagIds], order);
}

/**
 * The pull of a pooled table: each shard asked for the sums of the bags it holds positions
 * of, and each bag's sums added, in shard order or (routing.order 'idTree') as the id tree's top
 * levels; a bag no shard holds, an empty one, is zeros.
 */
export function pooledPull(routing: BagRouting): PullPlan {
  const table = routing.spec.name;
  const dim = routing.spec.embeddingDim;
  const sums: (Float32Array | undefined)[] = new Array(routing.numShards);
  return {
    table,
    partFor(shard): PullPart | null {
      const part = routing.shardPart(shard);
      return part && { table, ...part, ...(routing.order === 'idTree' ? { idTree: true } : {}) };
    },
    place(shard, reply) {
      const bags = routing.shardBagIds[shard].length;
      if (reply.length !== bags * dim) {
        throw new RowshardError(
          ErrorCodes.BAD_REPLY,
          `ps ${shard} answered ${reply.length} values for ${bags} bags of '${table}'`,
        );
      }
      sums[shard] = reply;
    },
    copyInto(dst) {
      // Each shard's reply; a shard holding no bag was not asked.
      const replies = routing.shardBagIds.map((bagIds, s) => {
        const reply = sums[s];
        if (bagIds.length === 0) return NO_REPLY;
        if (!reply) throw new RowshardError(ErrorCodes.INTERNAL, `no reply of ps ${s} for '${table}'`);
        return reply;
      });
      if (routing.order === 'idTree') addByIdTree(routing, replies, dst);
      else addInShardOrder(routing, replies, dst);
    },
  };
}

const NO_REPLY = new Float32Array(0);

/** A bag's first shard's sum as it is (with one shard, exactly the sum a worker's kernel makes), the others' added, in shard order. */
function addInShardOrder(routing: BagRouting, sums: readonly Float32Array[], dst: Float32Array): void {
  const dim = routing.spec.embeddingDim;
  const seen = new Uint8Array(routing.bagCount);
  for (let s = 0; s < routing.numShards; s++) {
    const bagIds = routing.shardBagIds[s];
    const part = sums[s];
    for (let k = 0; k < bagIds.length; k++) {
      const at = bagIds[k] * dim;
      if (!seen[bagIds[k]]) {
        copyRow(part, k * dim, dst, at, dim);
        seen[bagIds[k]] = 1;
      } else for (let d = 0; d < dim; d++) dst[at + d] += part[k * dim + d];
    }
  }
  for (let b = 0; b < routing.bagCount; b++) if (!seen[b]) dst.fill(0, b * dim, (b + 1) * dim);
}

/**
 * addByIdTree's node rows (one view per shard), the nodes it hands addShardRoots, and the
 * per-shard cursors: made once per shard count and dim, reused from step to step (a worker
 * thread adds one step at a time).
 */
let treeNodes: Float32Array[] = [];
let treeSlots: (Float32Array | null)[] = [];
let treeCursor = new Int32Array(0);

/**
 * Each bag's shards' sums (its subtrees' roots) added as the id tree's top levels: the bits
 * of the whole tree on one shard, or on the worker. Each shard's bags come in batch order, so
 * one cursor per shard finds a bag's sum.
 */
function addByIdTree(routing: BagRouting, sums: readonly Float32Array[], dst: Float32Array): void {
  const dim = routing.spec.embeddingDim;
  const shards = routing.numShards;
  if (treeNodes.length !== shards || treeNodes[0].length !== dim) {
    const rows = new Float32Array(shards * dim);
    treeNodes = Array.from({ length: shards }, (_, s) => rows.subarray(s * dim, (s + 1) * dim));
    treeSlots = new Array(shards);
    treeCursor = new Int32Array(shards);
  }
  const scratch = treeNodes;
  const nodes = treeSlots;
  const cursor = treeCursor.fill(0);
  for (let b = 0; b < routing.bagCount; b++) {
    for (let s = 0; s < shards; s++) {
      const k = cursor[s];
      const bagIds = routing.shardBagIds[s];
      if (k < bagIds.length && bagIds[k] === b) {
        // Copied: addShardRoots adds into the nodes.
        copyRow(sums[s], k * dim, scratch[s], 0, dim);
        nodes[s] = scratch[s];
        cursor[s]++;
      } else nodes[s] = null;
    }
    const root = addShardRoots(nodes, dim);
    if (root) dst.set(root, b * dim);
    else dst.fill(0, b * dim, (b + 1) * dim);
  }
}

/**
 * A pooled table as a step's forward sees it: the bag's output, ready, and the bag gradient
 * the push sends. The bag ops ask `pooled` first; any other read of the table is a model whose
 * forward does not match its pooledBags, and is refused.
 */
export class PooledRows implements RowSource {
  /** Each bag's gradient, as the shards take it (a mean's 1/len applied), once backward ran. */
  bagGrads: Float32Array | null = null;
  private read = false;

  constructor(
    readonly routing: BagRouting,
    /** [bags, dim]: the shards' sums, added. */
    private readonly sums: Float32Array,
    readonly trainable: boolean,
  ) {}

  get spec(): TableSpec {
    return this.routing.spec;
  }

  lookup(): RowLookup {
    throw this.mismatch('looked its rows up');
  }

  pooled(indices: RowIds, bounds: Int32Array, mode: 'sum' | 'mean'): PooledLookup {
    const bag = this.routing.bag;
    if (indices !== bag.ids || mode !== bag.mode || !sameBounds(bounds, bag.bounds)) throw this.mismatch('reduced another bag');
    if (this.read) throw this.mismatch('reduced the bag twice');
    this.read = true;
    const dim = this.spec.embeddingDim;
    const bags = this.routing.bagCount;
    // A mean's division and its gradient's 1/len, in float32 as the bag kernels do them.
    const scale = new Float32Array(bags);
    for (let b = 0; b < bags; b++) scale[b] = mode === 'sum' ? 1 : 1 / Math.max(1, bounds[b + 1] - bounds[b]);
    const out = allocF32(bags * dim);
    for (let b = 0; b < bags; b++) {
      const len = bounds[b + 1] - bounds[b];
      for (let k = b * dim; k < (b + 1) * dim; k++) out[k] = mode === 'sum' || len === 0 ? this.sums[k] : this.sums[k] / len;
    }
    const backward = this.trainable
      ? (gradOut: Float32Array) => {
          const grads = allocF32(bags * dim);
          for (let b = 0; b < bags; b++) for (let k = b * dim; k < (b + 1) * dim; k++) grads[k] = scale[b] * gradOut[k];
          this.bagGrads = grads;
        }
      : null;
    return { out, backward };
  }

  /** The push of the bag gradients: each shard's positions with the gradients of its bags; null before backward. */
  gradient(lr: number, step: number): RoutedGradient | null {
    const grads = this.bagGrads;
    if (grads === null) return null;
    const routing = this.routing;
    return {
      table: routing.spec.name,
      lr,
      step,
      shardSlice(shard) {
        const part = routing.shardPart(shard);
        return part && { ...part, grads: routing.shardGrads(grads, shard) };
      },
    };
  }

  private mismatch(what: string): RowshardError {
    return new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `table '${this.spec.name}': the shards reduced this step's bag (pooledBags), but the forward ${what}; a model's pooledBags must name the one bag its forward reduces (or set sync.poolBags: false)`,
      { table: this.spec.name },
    );
  }
}

function sameBounds(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
