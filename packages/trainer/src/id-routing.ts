import {
  dedupeIds,
  dedupeIds64,
  ErrorCodes,
  type IdArray,
  RowshardError,
  shardOfDense,
  shardOfHashed,
  type TableSpec,
} from '@rowshard/core';
import type { Ids } from './ps-client.js';

/**
 * The PsClient's general path (pull/push/pullMany/pushMany, ids of any shape): one table's ids
 * deduped and split by owning shard. The step path routes through TableRouting instead.
 */

/** Distinct ids of one table split by owning shard, remembering where each went. */
export interface Routed {
  readonly spec: TableSpec;
  /** For each input position, its distinct-id index. */
  readonly inverse: Int32Array;
  readonly distinct: number;
  /** Per shard: the ids to send, and for each the distinct-id index it stands for. */
  readonly perShard: { ids: IdArray; distinctIndex: Int32Array }[];
}

/**
 * Distinct ids of one table, bucketed by owning shard. Ids that are not valid rows of a dense
 * table still go out (as Float64Array, to shard 0) so the shard answers with its typed error.
 */
export function routeIds(spec: TableSpec, ids: Ids, n: number): Routed {
  const table = spec.name;
  const buckets: number[][] = Array.from({ length: n }, () => []);
  let inverse: Int32Array;
  let distinct: number;
  if (spec.kind === 'hashed') {
    if (!(ids instanceof BigUint64Array))
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `table '${table}' is hashed: pass ids as a BigUint64Array`);
    const d = dedupeIds64(new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2));
    inverse = d.inverse;
    distinct = d.unique.length / 2;
    for (let u = 0; u < distinct; u++) buckets[shardOfHashed(d.unique[2 * u], d.unique[2 * u + 1], n)].push(u);
    const perShard = buckets.map((members) => {
      const out = new BigUint64Array(members.length);
      const halves = new Uint32Array(out.buffer);
      members.forEach((u, k) => {
        halves[2 * k] = d.unique[2 * u];
        halves[2 * k + 1] = d.unique[2 * u + 1];
      });
      return { ids: out as IdArray, distinctIndex: Int32Array.from(members) };
    });
    return { spec, inverse, distinct, perShard };
  }
  if (ids instanceof BigUint64Array)
    throw new RowshardError(ErrorCodes.BAD_REQUEST, `table '${table}' is dense: pass ids as numbers`);
  const d = dedupeIds(ids);
  inverse = d.inverse;
  distinct = d.unique.length;
  // Ids that are not valid rows still go out (as Float64Array, to shard 0) so the PS answers
  // with its typed error naming table, position and range; valid ones travel as Uint32Array.
  const owner = new Int32Array(distinct);
  const counts = new Int32Array(n);
  let allValid = true;
  for (let u = 0; u < distinct; u++) {
    const id = d.unique[u];
    const ok = Number.isInteger(id) && id >= 0 && id < spec.numEmbeddings;
    if (!ok) allValid = false;
    owner[u] = ok ? shardOfDense(id, n) : 0;
    counts[owner[u]]++;
  }
  const perShard = Array.from({ length: n }, (_, shard) => ({
    ids: (allValid ? new Uint32Array(counts[shard]) : new Float64Array(counts[shard])) as IdArray,
    distinctIndex: new Int32Array(counts[shard]),
  }));
  const fill = new Int32Array(n);
  for (let u = 0; u < distinct; u++) {
    const s = owner[u];
    const k = fill[s]++;
    (perShard[s].ids as Uint32Array | Float64Array)[k] = d.unique[u];
    perShard[s].distinctIndex[k] = u;
  }
  return { spec, inverse, distinct, perShard };
}

/** Sums the rows of duplicate ids in input order (deterministic); no copy when all are distinct. */
export function sumDuplicateRows(inverse: Int32Array, distinct: number, grads: Float32Array, dim: number): Float32Array {
  if (inverse.length === distinct) return grads;
  const summed = new Float32Array(distinct * dim);
  for (let i = 0; i < inverse.length; i++) {
    const dst = inverse[i] * dim;
    for (let d = 0; d < dim; d++) summed[dst + d] += grads[i * dim + d];
  }
  return summed;
}
