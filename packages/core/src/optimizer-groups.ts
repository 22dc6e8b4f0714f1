import { type DenseOptimizerConfig, parseDenseOptimizerConfig } from './dense/config.js';
import { configError } from './errors.js';
import { type LrSchedule, parseLrSchedule } from './schedule.js';
import { normalizeKindName, parseSparseOptimizerConfig, type SparseOptimizerConfig } from './sparse/config.js';
import { requireObject } from './validate.js';

/**
 * Optimizer groups: PyTorch's param groups, by name. Every table names its group (default
 * `embeddings`) and every dense parameter its group (default `dense`); a group has one
 * optimizer and one lr schedule. Tables need a sparse-capable optimizer (sgd, adagrad,
 * sparse_adam, rowwise_adagrad), dense parameters a dense one (sgd, adam, adamw, adagrad),
 * exactly as torch.optim refuses Adam on sparse gradients.
 */
export interface OptimizerGroup {
  readonly name: string;
  /** The optimizer settings as given; checked against the parameters the group holds. */
  readonly optimizer: Readonly<Record<string, unknown>>;
  readonly schedule: LrSchedule;
}

export const DEFAULT_TABLE_GROUP = 'embeddings';
export const DEFAULT_DENSE_GROUP = 'dense';

/** Parses `{ groupName: { kind, lr, ..., schedule? } }`; `jobSteps` as parseLrSchedule takes it. */
export function parseOptimizerGroups(value: unknown, field = 'optimizers', jobSteps: number | null = null): OptimizerGroup[] {
  const obj = requireObject(value, field);
  return Object.entries(obj).map(([name, raw]) => {
    const g = requireObject(raw, `${field}.${name}`);
    const { schedule, ...optimizer } = g;
    if (!('kind' in optimizer)) throw configError(`${field}.${name}.kind`, 'is required (e.g. sparse_adam, adagrad, sgd, adam)');
    return Object.freeze({
      name,
      optimizer: Object.freeze(optimizer),
      schedule: parseLrSchedule(schedule, `${field}.${name}.schedule`, jobSteps),
    });
  });
}

export function findGroup(groups: readonly OptimizerGroup[], name: string, usedBy: string): OptimizerGroup {
  const g = groups.find((x) => x.name === name);
  if (!g) {
    const known = groups.map((x) => x.name).join(', ') || 'none';
    throw configError(`optimizers.${name}`, `is used by ${usedBy} but not defined (defined: ${known})`);
  }
  return g;
}

export function sparseConfigOf(group: OptimizerGroup): SparseOptimizerConfig {
  const kind = normalizeKindName(group.optimizer.kind);
  if (kind === 'adam' || kind === 'adamw') {
    throw configError(
      `optimizers.${group.name}.kind`,
      `${String(group.optimizer.kind)} cannot update embedding tables (torch.optim.Adam refuses sparse gradients); use sparse_adam`,
    );
  }
  return parseSparseOptimizerConfig(group.optimizer, `optimizers.${group.name}`);
}

export function denseConfigOf(group: OptimizerGroup): DenseOptimizerConfig {
  const kind = normalizeKindName(group.optimizer.kind);
  if (kind === 'sparse_adam' || kind === 'rowwise_adagrad') {
    throw configError(
      `optimizers.${group.name}.kind`,
      `${String(group.optimizer.kind)} is for embedding tables only; use adam or adamw for dense parameters`,
    );
  }
  return parseDenseOptimizerConfig(group.optimizer, `optimizers.${group.name}`);
}
