import { ID_TREE_LEAVES, idTreeSplits } from '@rowshard/core';
import type { Kernels } from './kernels.js';

/**
 * The id tree: the order in which BSP adds a bag's rows, the same whatever the shard count,
 * so that a bag summed on the shards (sync.poolBags) has the bits of a bag summed on a worker.
 *
 * Float32 addition is not associative, so a bag's sum depends on the order of its adds. A
 * shard can only add the positions it holds, and with modulo sharding (core's shardOfDense:
 * id mod numShards) which those are depends on the shard count. The id tree fixes an order
 * that splits along shard lines for any power-of-two shard count up to 64:
 *
 * - leaf r (r < 64) of a bag is its rows whose id mod 64 is r, added from +0 in position order;
 * - stage m, for m = 5 down to 0: node r += node r + 2^m, for every r < 2^m;
 * - the bag's sum is node 0.
 *
 * With 2^k shards, shard s holds exactly the leaves r with r mod 2^k = s, and stages 5 .. k add
 * only nodes of one residue mod 2^k: they are the shard's own, and leave its subtree's root in
 * node s. Stages k−1 .. 0 then add the shards' roots, on the worker (addShardRoots). A shard
 * runs the whole tree over its positions: the other shards' nodes are missing, and a missing
 * node adds nothing.
 *
 * "Adds nothing" is exact: a missing node is +0, and x + (+0) = x for every x but −0. No node
 * is −0: a leaf starts at +0, and a sum of two values that are not −0 is not −0 in
 * round-to-nearest. So a node is moved, not added, where its partner is missing, and the bits
 * are those of the full 64-leaf tree.
 */

/**
 * How to add up bags in the id tree's order, as a list of row adds: into a zeroed matrix of
 * `nodes` rows, position p's row goes into row leafNode[p] (in position order); then, in
 * order, row into[c] += row from[c] for c < combines; bag b's sum is then row root[b], or
 * zeros where root[b] is −1 (a bag without positions). The arrays are views of scratch,
 * valid until the next plan.
 */
export interface IdTreePlan {
  readonly nodes: number;
  readonly leafNode: Int32Array;
  readonly combines: number;
  readonly from: Int32Array;
  readonly into: Int32Array;
  readonly root: Int32Array;
}

/** Per bag and leaf, its node (−1: none yet); all −1 between plans. */
let nodeAt = new Int32Array(0);
let leafNodeScratch = new Int32Array(0);
let fromScratch = new Int32Array(0);
let intoScratch = new Int32Array(0);
let rootScratch = new Int32Array(0);

/**
 * The plan for `n` positions, position p holding id ids[p] (a whole number ≥ 0) of bag
 * bagOf[p] in [0, bagCount) (checked by the caller). Positions of one bag need not be together.
 */
export function planIdTree(ids: ArrayLike<number>, bagOf: ArrayLike<number>, n: number, bagCount: number): IdTreePlan {
  const leaves = ID_TREE_LEAVES;
  if (nodeAt.length < bagCount * leaves) nodeAt = new Int32Array(Math.max(bagCount * leaves, 2 * nodeAt.length)).fill(-1);
  if (leafNodeScratch.length < n) {
    const size = Math.max(n, 2 * leafNodeScratch.length);
    leafNodeScratch = new Int32Array(size);
    fromScratch = new Int32Array(size);
    intoScratch = new Int32Array(size);
  }
  if (rootScratch.length < bagCount) rootScratch = new Int32Array(Math.max(bagCount, 2 * rootScratch.length));
  const leafNode = leafNodeScratch;
  let nodes = 0;
  for (let p = 0; p < n; p++) {
    const key = bagOf[p] * leaves + (ids[p] % leaves);
    let node = nodeAt[key];
    if (node < 0) {
      node = nodes++;
      nodeAt[key] = node;
    }
    leafNode[p] = node;
  }
  // Each bag's stages; a node whose partner is missing moves down. Fewer combines than nodes.
  const from = fromScratch;
  const into = intoScratch;
  let combines = 0;
  for (let b = 0; b < bagCount; b++) {
    const base = b * leaves;
    for (let half = leaves >> 1; half >= 1; half >>= 1) {
      for (let r = 0; r < half; r++) {
        const upper = nodeAt[base + r + half];
        if (upper < 0) continue;
        const lower = nodeAt[base + r];
        if (lower < 0) nodeAt[base + r] = upper;
        else {
          from[combines] = upper;
          into[combines++] = lower;
        }
        nodeAt[base + r + half] = -1;
      }
    }
    rootScratch[b] = nodeAt[base];
    nodeAt[base] = -1;
  }
  return {
    nodes,
    leafNode: leafNode.subarray(0, n),
    combines,
    from: from.subarray(0, combines),
    into: into.subarray(0, combines),
    root: rootScratch.subarray(0, bagCount),
  };
}

/**
 * A bag's sum from its shards' sums, in the id tree's order: nodes[s] is shard s's sum of its
 * positions (its subtree's root), or null where it holds none; 2^k shards. The nodes are added
 * in place (float32, stages k−1 .. 0) and the result is returned: a node of `nodes`, or null
 * when no shard holds a position (the sum is zeros).
 */
export function addShardRoots(nodes: (Float32Array | null)[], dim: number): Float32Array | null {
  const n = nodes.length;
  if (!idTreeSplits(n)) throw new Error(`the id tree splits over 1, 2, 4 … 64 shards, not ${n}`);
  for (let half = n >> 1; half >= 1; half >>= 1) {
    for (let s = 0; s < half; s++) {
      const upper = nodes[s + half];
      if (upper === null) continue;
      const lower = nodes[s];
      if (lower === null) nodes[s] = upper;
      else for (let d = 0; d < dim; d++) lower[d] += upper[d];
      nodes[s + half] = null;
    }
  }
  return nodes[0];
}

/**
 * Each bag's sum [bagCount · dim] into `out`, in the id tree's order (`plan`): position p reads
 * row rowOf[p] of `rows`. `work` is [plan.nodes · dim] of zeros (it ends up holding the nodes).
 */
export function idTreeBagSums(
  k: Kernels,
  plan: IdTreePlan,
  rows: Float32Array,
  rowOf: Int32Array,
  work: Float32Array,
  out: Float32Array,
  dim: number,
): void {
  k.addRows(rows, rowOf, work, plan.leafNode, dim);
  if (plan.combines > 0) k.addRows(work, plan.from, work, plan.into, dim);
  const root = plan.root;
  for (let b = 0; b < root.length; b++) {
    if (root[b] < 0) out.fill(0, b * dim, (b + 1) * dim);
    else out.set(work.subarray(root[b] * dim, (root[b] + 1) * dim), b * dim);
  }
}
