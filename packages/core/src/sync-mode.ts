import { configError } from './errors.js';
import { jobDefaults } from './job-defaults.js';
import { idTreeSplits } from './shard.js';
import { booleanField, nonNegativeInt, oneOf, rejectUnknownKeys, requireObject } from './validate.js';

/**
 * How workers' steps relate (docs/ARCHITECTURE.md, "One training step").
 * - bsp: step t's pushes from every worker are summed in rank order and applied once before
 *   any pull of step t+1 is served: the numbers of single-process PyTorch on the global batch.
 * - ssp: a worker at clock c waits until every worker has reached c - staleness.
 * - asp: pushes apply on arrival (Hogwild); the pull of step t+1 rides on the push of step t.
 *
 * `cacheSteps` (ssp, asp): a worker may reuse a row it pulled at clock c until clock
 * c + cacheSteps instead of pulling it again (Petuum's SSP client cache), so the zipf head is
 * not pulled every step. In SSP it defaults to the staleness and may not exceed it (the bound
 * holds for every row read); in ASP it defaults to 0 (no cache).
 *
 * `prefetch` (asp): a worker's pull runs one step further ahead, so that the shards gather
 * step t+1's rows while the worker computes step t: the pull of step t+2 rides on the push of
 * step t, sent before the worker computes step t+1 with rows pulled before its push of step t
 * was applied (a read one step staler, as a Hogwild thread's read of rows another thread is
 * writing). The dense parameters stay fresh: the worker waits for their reply. Off, each
 * step's rows include the worker's own last push. The job's default is off; the CLI turns it
 * on where the cluster's processes fit the CPUs (fillPrefetch, packages/cli): with a core
 * each, a worker that waits leaves its core idle, and prefetch fills it; with more processes
 * than cores, the core goes to another process anyway and prefetch only adds contention.
 *
 * `poolBags` (default true): the bags a model declares (Model.pooledBags: an EmbeddingBag's
 * sum or mean) are reduced on the shards, which answer one row per bag instead of the bag's
 * rows, and take one gradient row per bag back. BSP adds a bag's rows in the id tree's order
 * (kernels' id-tree.ts) on the shards and on the worker alike, and its bits do not depend on
 * the shard count: it pools where that order splits over the shards (1, 2, 4, 8 or 16 of them)
 * and pulls rows otherwise, with the same bits. ASP and SSP add in position order, each shard
 * its positions and the worker the shards' sums in shard order. A row cache (cacheSteps > 0)
 * holds rows, not sums: with one, rows are pulled.
 */
export type SyncMode = (
  | { readonly mode: 'bsp' }
  | { readonly mode: 'ssp'; readonly staleness: number; readonly cacheSteps: number }
  | { readonly mode: 'asp'; readonly cacheSteps: number; readonly prefetch?: boolean }
) & { readonly poolBags?: boolean };

/** Whether a worker pulls a step further ahead (ASP's `prefetch`, off unless set). */
export function prefetches(sync: SyncMode): boolean {
  return sync.mode === 'asp' && sync.prefetch === true;
}

/** Whether the shards take pooled parts, with `numShards` shards (what a shard enforces). */
export function shardsMayPool(sync: SyncMode, numShards: number): boolean {
  return sync.poolBags !== false && (sync.mode !== 'bsp' || idTreeSplits(numShards));
}

/** Whether a worker pools a step's declared bags on the shards: where they may, and it keeps no row cache. */
export function poolsBags(sync: SyncMode, numShards: number): boolean {
  return shardsMayPool(sync, numShards) && (sync.mode === 'bsp' || sync.cacheSteps === 0);
}

export function parseSyncMode(value: unknown, field = 'sync'): SyncMode {
  if (value === undefined || value === null) return jobDefaults.sync;
  if (typeof value === 'string') return parseSyncMode({ mode: value }, field);
  const obj = requireObject(value, field);
  const mode = oneOf(obj.mode, `${field}.mode`, ['bsp', 'ssp', 'asp'] as const);
  const pool = obj.poolBags === undefined ? {} : { poolBags: booleanField(obj.poolBags, `${field}.poolBags`) };
  return { ...parseMode(obj, mode, field), ...pool };
}

function parseMode(obj: Record<string, unknown>, mode: SyncMode['mode'], field: string): SyncMode {
  if (mode === 'ssp') {
    rejectUnknownKeys(obj, ['mode', 'staleness', 'cacheSteps', 'poolBags'], field);
    if (obj.staleness === undefined) throw configError(`${field}.staleness`, 'is required for ssp');
    const staleness = nonNegativeInt(obj.staleness, `${field}.staleness`);
    const cacheSteps = obj.cacheSteps === undefined ? staleness : nonNegativeInt(obj.cacheSteps, `${field}.cacheSteps`);
    if (cacheSteps > staleness) {
      throw configError(`${field}.cacheSteps`, `must be at most the staleness (${staleness}), got ${cacheSteps}`);
    }
    return { mode, staleness, cacheSteps };
  }
  if (mode === 'asp') {
    rejectUnknownKeys(obj, ['mode', 'cacheSteps', 'prefetch', 'poolBags'], field);
    const cacheSteps = obj.cacheSteps === undefined ? 0 : nonNegativeInt(obj.cacheSteps, `${field}.cacheSteps`);
    return {
      mode,
      cacheSteps,
      ...(obj.prefetch === undefined ? {} : { prefetch: booleanField(obj.prefetch, `${field}.prefetch`) }),
    };
  }
  rejectUnknownKeys(obj, ['mode', 'poolBags'], field);
  return { mode };
}
