import { configError } from './errors.js';
import { jobDefaults } from './job-defaults.js';
import { nonNegativeInt, oneOf, rejectUnknownKeys, requireObject } from './validate.js';

/**
 * How workers' steps relate (docs/ARCHITECTURE.md, "One training step").
 * - bsp: step t's pushes from every worker are summed in rank order and applied once before
 *   any pull of step t+1 is served: the numbers of single-process PyTorch on the global batch.
 * - ssp: a worker at clock c waits until every worker has reached c - staleness.
 * - asp: pushes apply on arrival (Hogwild); pulls prefetch the next batch.
 */
export type SyncMode = { readonly mode: 'bsp' } | { readonly mode: 'ssp'; readonly staleness: number } | { readonly mode: 'asp' };

export function parseSyncMode(value: unknown, field = 'sync'): SyncMode {
  if (value === undefined || value === null) return jobDefaults.sync;
  if (typeof value === 'string') return parseSyncMode({ mode: value }, field);
  const obj = requireObject(value, field);
  const mode = oneOf(obj.mode, `${field}.mode`, ['bsp', 'ssp', 'asp'] as const);
  if (mode === 'ssp') {
    rejectUnknownKeys(obj, ['mode', 'staleness'], field);
    if (obj.staleness === undefined) throw configError(`${field}.staleness`, 'is required for ssp');
    return { mode, staleness: nonNegativeInt(obj.staleness, `${field}.staleness`) };
  }
  rejectUnknownKeys(obj, ['mode'], field);
  return { mode };
}
