import {
  configError,
  nonNegativeInt,
  optional,
  parseSparseOptimizerConfig,
  parseSyncMode,
  parseTableSpec,
  positiveInt,
  rejectUnknownKeys,
  requireObject,
  type SparseOptimizerConfig,
  type SyncMode,
} from '@rowshard/core';
import type { PsTableConfig } from './ps-service.js';

/**
 * A standalone PS's configuration (`rowshard ps --config ps.json`): which shard it is, the
 * job seed, and its tables with their optimizers. Under a coordinator the same content
 * arrives at registration instead.
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
}

export function parsePsConfig(value: unknown, file?: string): PsConfig {
  try {
    const obj = requireObject(value, 'ps');
    rejectUnknownKeys(obj, ['shard', 'numShards', 'seed', 'tables', 'sync', 'workers', 'stepTimeoutMs'], 'ps');
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
    const sync = obj.sync === undefined ? ({ mode: 'asp' } as const) : parseSyncMode(obj.sync, 'ps.sync');
    const workers = optional(obj.workers, 1, (v) => positiveInt(v, 'ps.workers'));
    const stepTimeoutMs = optional(obj.stepTimeoutMs, 120_000, (v) => positiveInt(v, 'ps.stepTimeoutMs'));
    return { shard, numShards, seed, tables, sync, workers, stepTimeoutMs };
  } catch (e) {
    if (file && e instanceof Error && 'code' in e) e.message = `${file}: ${e.message}`;
    throw e;
  }
}
