import { copyRow, ErrorCodes, type IdArray, type PullPart, RowshardError } from '@rowshard/core';
import type { TableRouting } from './step-routing.js';

/**
 * What one table's pull asks each shard for, and where the answers go. Without a cache a
 * shard is asked for its whole slice of the routing and its reply is kept as it is (copied
 * once, into the step arena, when the step computes); with a row cache only the rows that
 * are not fresh enough are asked for, and the rest come from the cache.
 */
export interface PullPlan {
  readonly table: string;
  /** What to ask shard `shard` for (ids, a view; a pooled pull's bags too), or null when it need not be asked. */
  partFor(shard: number): PullPart | null;
  /** Takes shard `shard`'s reply: rows for partFor(shard)'s ids, in that order (a pooled pull: its bags' sums). */
  place(shard: number, rows: Float32Array): void;
  /** The step's rows, [routing.rows, dim] in the routing's layout, into `dst` (a pooled pull: the bags' sums). */
  copyInto(dst: Float32Array): void;
}

function checkReply(routing: TableRouting, shard: number, rows: Float32Array, n: number): void {
  const dim = routing.spec.embeddingDim;
  if (rows.length !== n * dim) {
    throw new RowshardError(
      ErrorCodes.BAD_REPLY,
      `ps ${shard} answered ${rows.length} values for ${n} rows of '${routing.spec.name}'`,
    );
  }
}

/** Every row of the routing, each shard asked for its slice. */
export function fullPull(routing: TableRouting): PullPlan {
  const replies: Float32Array[] = new Array(routing.numShards);
  const table = routing.spec.name;
  return {
    table,
    partFor: (shard) =>
      routing.shardStart[shard + 1] > routing.shardStart[shard] ? { table, ids: routing.shardIds(shard) } : null,
    place(shard, rows) {
      checkReply(routing, shard, rows, routing.shardStart[shard + 1] - routing.shardStart[shard]);
      replies[shard] = rows;
    },
    copyInto(dst) {
      const dim = routing.spec.embeddingDim;
      for (let s = 0; s < routing.numShards; s++) {
        if (routing.shardStart[s + 1] === routing.shardStart[s]) continue;
        // dst is not zeroed (the step arena's pulled rows): every row must come from a reply.
        if (!replies[s]) throw new RowshardError(ErrorCodes.INTERNAL, `no reply of ps ${s} for '${routing.spec.name}'`);
        dst.set(replies[s], routing.shardStart[s] * dim);
      }
    },
  };
}

/**
 * A worker's row cache for one table (Petuum's SSP client cache): a row pulled at clock c is
 * reused up to clock c + cacheSteps instead of being pulled again. It remembers the last
 * step's rows with the clock each was pulled at, so a row used step after step keeps its
 * original clock and is pulled again once too old. Reads never see a row older than the
 * bound; they do not see this worker's own recent updates either (those are applied on the
 * shards), which the bound covers.
 */
export class RowCache {
  private last: { routing: TableRouting; rows: Float32Array; pulledAt: Int32Array } | null = null;
  /** Rows served from the cache and rows asked for, since the start. */
  hits = 0;
  lookups = 0;
  /** The oldest row ever served, in clocks (never above cacheSteps). */
  maxAge = 0;

  constructor(readonly cacheSteps: number) {}

  /** Forgets every row (after a restore the shards hold other values). */
  clear(): void {
    this.last = null;
  }

  /** The pull of step `clock`: fresh rows from the cache, the others from the shards. */
  plan(routing: TableRouting, clock: number): PullPlan {
    const dim = routing.spec.embeddingDim;
    const n = routing.rows;
    const rows = new Float32Array(n * dim);
    const pulledAt = new Int32Array(n).fill(clock);
    const missing = new Uint8Array(n).fill(1);
    const last = this.last;
    if (last) {
      const ids = routing.ids;
      for (let r = 0; r < n; r++) {
        const at = last.routing.rowOfId(ids[r]);
        if (at < 0 || clock - last.pulledAt[at] > this.cacheSteps) continue;
        copyRow(last.rows, at * dim, rows, r * dim, dim);
        pulledAt[r] = last.pulledAt[at];
        this.maxAge = Math.max(this.maxAge, clock - last.pulledAt[at]);
        missing[r] = 0;
        this.hits++;
      }
    }
    this.lookups += n;
    // Per shard, the positions still to pull and their ids.
    const asks: { positions: Int32Array; ids: IdArray }[] = [];
    for (let s = 0; s < routing.numShards; s++) {
      const start = routing.shardStart[s];
      const end = routing.shardStart[s + 1];
      let count = 0;
      for (let r = start; r < end; r++) count += missing[r];
      const positions = new Int32Array(count);
      let k = 0;
      for (let r = start; r < end; r++) if (missing[r]) positions[k++] = r;
      const ids = count === end - start ? routing.shardIds(s) : routing.idsAt(positions);
      asks.push({ positions, ids });
    }
    this.last = { routing, rows, pulledAt };
    const table = routing.spec.name;
    return {
      table,
      partFor: (shard) => (asks[shard].positions.length > 0 ? { table, ids: asks[shard].ids } : null),
      place(shard, reply) {
        const { positions } = asks[shard];
        checkReply(routing, shard, reply, positions.length);
        for (let k = 0; k < positions.length; k++) copyRow(reply, k * dim, rows, positions[k] * dim, dim);
      },
      copyInto: (dst) => dst.set(rows),
    };
  }
}
