import { configError } from './errors.js';
import { defaultRequestLimits, type RequestLimits } from './request-limits.js';
import { parseSparseOptimizerConfig, type SparseOptimizerConfig } from './sparse/config.js';
import { parseSyncMode, type SyncMode } from './sync-mode.js';
import { parseTableSpec, type TableSpec } from './table-spec.js';
import { nonNegativeInt, optional, positiveInt, rejectUnknownKeys, requireObject } from './validate.js';

export interface PsTableConfig {
  readonly spec: TableSpec;
  /** null for a table that is never trained (frozen from the start). */
  readonly optimizer: SparseOptimizerConfig | null;
}

/**
 * A parameter server's configuration: which shard it is, the job seed, its tables with their
 * optimizers, and how pushes are applied. A standalone PS reads it from a file
 * (`--config ps.json`); under a coordinator the same content arrives in the reply to
 * `register_ps`, and is checked by the same parser.
 */
export interface PsConfig {
  readonly shard: number;
  readonly numShards: number;
  readonly seed: number;
  readonly tables: readonly PsTableConfig[];
  /** How pushes are applied (default asp: on arrival). */
  readonly sync: SyncMode;
  /** Workers in the job: how many pushes make a BSP step. */
  readonly workers: number;
  readonly stepTimeoutMs: number;
  /** What one request may carry or ask for; bigger ones are refused (E_TOO_LARGE). */
  readonly limits: RequestLimits;
}

export function parsePsConfig(value: unknown, file?: string): PsConfig {
  try {
    const obj = requireObject(value, 'ps');
    rejectUnknownKeys(obj, ['shard', 'numShards', 'seed', 'tables', 'sync', 'workers', 'stepTimeoutMs', 'limits'], 'ps');
    const numShards = positiveInt(obj.numShards, 'ps.numShards');
    const shard = nonNegativeInt(obj.shard, 'ps.shard');
    if (shard >= numShards) throw configError('ps.shard', `must be < numShards (${numShards}), got ${shard}`);
    const seed = optional(obj.seed, 0, (v) => nonNegativeInt(v, 'ps.seed'));
    if (!Array.isArray(obj.tables)) throw configError('ps.tables', 'must be a list');
    const tables = obj.tables.map((raw, i): PsTableConfig => {
      const t = requireObject(raw, `ps.tables[${i}]`);
      rejectUnknownKeys(t, ['spec', 'optimizer'], `ps.tables[${i}]`);
      const spec = parseTableSpec(t.spec, `ps.tables[${i}].spec`);
      const optimizer: SparseOptimizerConfig | null =
        t.optimizer === null || t.optimizer === undefined
          ? null
          : parseSparseOptimizerConfig(t.optimizer, `ps.tables[${i}].optimizer`);
      return { spec, optimizer };
    });
    const names = new Set<string>();
    for (const t of tables) {
      if (names.has(t.spec.name)) throw configError('ps.tables', `table '${t.spec.name}' is listed twice`);
      names.add(t.spec.name);
    }
    const sync = parseSyncMode(obj.sync ?? 'asp', 'ps.sync');
    const workers = optional(obj.workers, 1, (v) => positiveInt(v, 'ps.workers'));
    const stepTimeoutMs = optional(obj.stepTimeoutMs, 120_000, (v) => positiveInt(v, 'ps.stepTimeoutMs'));
    const limitsObj = requireObject(obj.limits ?? {}, 'ps.limits');
    rejectUnknownKeys(limitsObj, ['maxRows', 'maxBytes'], 'ps.limits');
    const limits: RequestLimits = {
      maxRows: optional(limitsObj.maxRows, defaultRequestLimits.maxRows, (v) => positiveInt(v, 'ps.limits.maxRows')),
      maxBytes: optional(limitsObj.maxBytes, defaultRequestLimits.maxBytes, (v) => positiveInt(v, 'ps.limits.maxBytes')),
    };
    return { shard, numShards, seed, tables, sync, workers, stepTimeoutMs, limits };
  } catch (e) {
    if (file && e instanceof Error && 'code' in e) e.message = `${file}: ${e.message}`;
    throw e;
  }
}
