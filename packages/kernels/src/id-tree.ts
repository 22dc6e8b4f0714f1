import { ID_TREE_LEAVES, idTreeSplits } from '@rowshard/core';

/**
 * The id tree: the order in which BSP adds a bag's rows, the same whatever the shard count,
 * so that a bag summed on the shards (sync.poolBags) has the bits of a bag summed on a worker.
 *
 * Float32 addition is not associative, so a bag's sum depends on the order of its adds. A
 * shard can only add the positions it holds, and with modulo sharding (core's shardOfDense:
 * id mod numShards) which those are depends on the shard count. The id tree fixes an order
 * that splits along shard lines for any power-of-two shard count up to its L = 16 leaves
 * (core's ID_TREE_LEAVES):
 *
 * - leaf r (r < L) of a bag is its rows whose id mod L is r, added from +0 in position order;
 * - then for half = L/2, L/4 … 1: node r += node r + half, for every r < half;
 * - the bag's sum is node 0.
 *
 * With 2^k shards, shard s holds exactly the leaves r with r mod 2^k = s, and the stages with
 * half ≥ 2^k add only nodes of one residue mod 2^k: they are the shard's own, and leave its
 * subtree's root in node s. The stages below then add the shards' roots, on the worker
 * (addShardRoots). A shard runs the whole tree over its positions: the other shards' nodes
 * are missing, and a missing node adds nothing.
 *
 * "Adds nothing" is exact: a missing node is +0, and x + (+0) = x for every x but −0. No node
 * is −0: a leaf starts at +0, and a sum of two values that are not −0 is not −0 in
 * round-to-nearest. So a node is moved, not added, where its partner is missing, and the bits
 * are those of the full tree. The kernels (idTreeBagSums; assembly/id-tree.ts) keep one bag's
 * nodes at a time.
 *
 * L is a trade: more leaves let BSP pool on more shards, but each leaf a bag has costs one
 * more row add (a combine); at 16, a text of 32 positions on 2 shards adds about 7 per shard
 * on top of its 16 rows.
 */

/** Each position's leaf, its id mod ID_TREE_LEAVES, into `into` (ids: whole numbers ≥ 0). */
export function idTreeLeaves(ids: ArrayLike<number>, n: number, into: Int32Array): Int32Array {
  const mask = ID_TREE_LEAVES - 1;
  // ToInt32 keeps an integer's low 32 bits, so this is id mod 16 for ids past 2^32 too.
  for (let p = 0; p < n; p++) into[p] = ids[p] & mask;
  return into;
}

/**
 * The id tree's sums in JavaScript, the kernels' twin (float32 adds in the same order: the
 * same bits): bag b's positions are bounds[b] .. bounds[b+1], position p's row starts at float
 * rowStart[p] of `source` and is in leaf leafOf[p]; out [bags, dim].
 */
export function idTreeSumsInJs(
  bounds: ArrayLike<number>,
  rowStart: ArrayLike<number>,
  leafOf: ArrayLike<number>,
  source: Float32Array,
  out: Float32Array,
  dim: number,
): void {
  const leaves = ID_TREE_LEAVES;
  const nodes = new Float32Array(leaves * dim);
  for (let b = 0; b + 1 < bounds.length; b++) {
    let present = 0;
    for (let p = bounds[b]; p < bounds[b + 1]; p++) {
      const at = leafOf[p] * dim;
      const from = rowStart[p];
      // A node's first row is added to +0 (a −0 becomes +0), as a sum from +0 does.
      if (!(present & (1 << leafOf[p]))) nodes.fill(0, at, at + dim);
      for (let k = 0; k < dim; k++) nodes[at + k] += source[from + k];
      present |= 1 << leafOf[p];
    }
    for (let half = leaves >> 1; half >= 1; half >>= 1) {
      for (let r = 0; r < half; r++) {
        if (!(present & (1 << (r + half)))) continue;
        if (present & (1 << r)) for (let k = 0; k < dim; k++) nodes[r * dim + k] += nodes[(r + half) * dim + k];
        else nodes.copyWithin(r * dim, (r + half) * dim, (r + half + 1) * dim);
        present |= 1 << r;
      }
      present &= (1 << half) - 1;
    }
    if (present) out.set(nodes.subarray(0, dim), b * dim);
    else out.fill(0, b * dim, (b + 1) * dim);
  }
}

/**
 * A bag's sum from its shards' sums, in the id tree's order: nodes[s] is shard s's sum of its
 * positions (its subtree's root), or null where it holds none; 2^k shards. The nodes are added
 * in place (float32, the stages with half < 2^k) and the result is returned: a node of
 * `nodes`, or null when no shard holds a position (the sum is zeros).
 */
export function addShardRoots(nodes: (Float32Array | null)[], dim: number): Float32Array | null {
  const n = nodes.length;
  if (!idTreeSplits(n)) throw new Error(`the id tree splits over 1, 2, 4 … ${ID_TREE_LEAVES} shards, not ${n}`);
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
