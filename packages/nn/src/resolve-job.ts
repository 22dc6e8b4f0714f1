import { denseConfigOf, findGroup, type JobConfig, type PsTableConfig, parseJobConfig, sparseConfigOf } from '@rowshard/core';
import { applyTableOverrides, type Model } from './model.js';
import { type ModuleImporter, resolveModel } from './models/registry.js';

/** A job with its model: what every role works from. */
export interface ResolvedJob {
  readonly job: JobConfig;
  /** The model with the job's table overrides (frozen, group) applied. */
  readonly model: Model;
  /** Each table with its sparse optimizer (null when frozen from the start), as the shards get them. */
  readonly psTables: readonly PsTableConfig[];
}

/**
 * Parses a job, builds its model (a built-in, or a user module through `importModule`), checks
 * the job's table overrides and freeze plan against the model's tables, applies the overrides,
 * and resolves every table's and dense parameter's optimizer group, so a mistake anywhere is
 * reported before any role starts. The CLI, the coordinator and every worker call this one
 * function, so they cannot disagree about the job.
 */
export async function resolveJob(raw: unknown, importModule: ModuleImporter): Promise<ResolvedJob> {
  const preliminary = parseJobConfig(raw);
  const declared = await resolveModel(preliminary.model, importModule);
  const job = parseJobConfig(
    raw,
    declared.tables.map((t) => t.name),
  );
  const model = applyTableOverrides(declared, job.tables);
  const psTables = model.tables.map((spec) => ({
    spec,
    optimizer: spec.frozen ? null : sparseConfigOf(findGroup(job.optimizers, spec.group, `table '${spec.name}'`)),
  }));
  for (const p of model.dense) denseConfigOf(findGroup(job.optimizers, p.group, `parameter '${p.name}'`));
  return { job, model, psTables };
}
