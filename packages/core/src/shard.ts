import { mix64to32 } from './hash.js';
import type { TableSpec } from './table-spec.js';

/**
 * The shard that owns a row: a pure function, identical in every process, so any process can
 * route a request without asking anyone. Dense id ranges use modulo (consecutive ids spread
 * evenly and a shard's local slot is `row / numShards`); hashed ids use a 64-bit mix first so
 * that structured raw ids (all even, all multiples of 1000) still spread evenly.
 */
export function shardOf(table: Pick<TableSpec, 'kind'>, row: number | bigint, numShards: number): number {
  if (table.kind === 'hashed') {
    const big = typeof row === 'bigint' ? BigInt.asUintN(64, row) : BigInt(row);
    return shardOfHashed(Number(big & 0xffffffffn), Number(big >> 32n), numShards);
  }
  return shardOfDense(Number(row), numShards);
}

export function shardOfDense(row: number, numShards: number): number {
  return row % numShards;
}

/**
 * The leaves of the id tree (kernels' id-tree.ts), BSP's order of a bag's adds: leaf r holds
 * the ids ≡ r mod 16, so with modulo sharding over 2^k shards, each shard's leaves make whole
 * subtrees.
 */
export const ID_TREE_LEAVES = 16;

/** Whether the id tree splits over `numShards` shards (a power of two, 16 at most): where BSP may pool bags on the shards. */
export function idTreeSplits(numShards: number): boolean {
  return Number.isInteger(numShards) && numShards >= 1 && numShards <= ID_TREE_LEAVES && (numShards & (numShards - 1)) === 0;
}

export function shardOfHashed(lo: number, hi: number, numShards: number): number {
  return mix64to32(lo, hi) % numShards;
}

/** Slot of a dense row inside its shard: rows r, r+n, r+2n... are packed densely. */
export function localSlotOfDense(row: number, numShards: number): number {
  return Math.floor(row / numShards);
}

/** Number of rows of a dense table that shard `shard` of `numShards` owns. */
export function denseRowsOnShard(numEmbeddings: number, shard: number, numShards: number): number {
  return shard < numEmbeddings % numShards ? Math.floor(numEmbeddings / numShards) + 1 : Math.floor(numEmbeddings / numShards);
}
