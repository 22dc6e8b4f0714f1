import { configError } from './errors.js';
import { jobDefaults } from './job-defaults.js';
import { nonNegativeInt, oneOf, rejectUnknownKeys, requireObject } from './validate.js';

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
 */
export type SyncMode =
  | { readonly mode: 'bsp' }
  | { readonly mode: 'ssp'; readonly staleness: number; readonly cacheSteps: number }
  | { readonly mode: 'asp'; readonly cacheSteps: number };

export function parseSyncMode(value: unknown, field = 'sync'): SyncMode {
  if (value === undefined || value === null) return jobDefaults.sync;
  if (typeof value === 'string') return parseSyncMode({ mode: value }, field);
  const obj = requireObject(value, field);
  const mode = oneOf(obj.mode, `${field}.mode`, ['bsp', 'ssp', 'asp'] as const);
  if (mode === 'ssp') {
    rejectUnknownKeys(obj, ['mode', 'staleness', 'cacheSteps'], field);
    if (obj.staleness === undefined) throw configError(`${field}.staleness`, 'is required for ssp');
    const staleness = nonNegativeInt(obj.staleness, `${field}.staleness`);
    const cacheSteps = obj.cacheSteps === undefined ? staleness : nonNegativeInt(obj.cacheSteps, `${field}.cacheSteps`);
    if (cacheSteps > staleness) {
      throw configError(`${field}.cacheSteps`, `must be at most the staleness (${staleness}), got ${cacheSteps}`);
    }
    return { mode, staleness, cacheSteps };
  }
  if (mode === 'asp') {
    rejectUnknownKeys(obj, ['mode', 'cacheSteps'], field);
    return { mode, cacheSteps: obj.cacheSteps === undefined ? 0 : nonNegativeInt(obj.cacheSteps, `${field}.cacheSteps`) };
  }
  rejectUnknownKeys(obj, ['mode'], field);
  return { mode };
}
