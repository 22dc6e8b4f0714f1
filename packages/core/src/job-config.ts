import { type CheckpointConfig, parseCheckpointConfig } from './checkpoint-config.js';
import { type DataSpec, parseDataSpec } from './data-spec.js';
import { configError } from './errors.js';
import { type EvalConfig, parseEvalConfig } from './eval-config.js';
import { type FreezeWindow, parseFreezePlan } from './freeze-plan.js';
import { jobDefaults } from './job-defaults.js';
import { type OptimizerGroup, parseOptimizerGroups } from './optimizer-groups.js';
import type { RequestLimits } from './request-limits.js';
import { parseSyncMode, type SyncMode } from './sync-mode.js';
import { parseTableOverrides, type TableOverride } from './table-overrides.js';
import { nonNegativeInt, optional, positiveInt, rejectUnknownKeys, requireObject, stringField } from './validate.js';

/**
 * A training job: what every role needs to agree on. The coordinator owns it and hands it to
 * PS and trainer processes at registration, so the roles never read config files themselves.
 * JSON-safe on purpose: it crosses the wire as-is.
 */
export interface JobConfig {
  readonly seed: number;
  /** A built-in model by name, or a module path; options go to its factory. */
  readonly model: { readonly name?: string; readonly path?: string; readonly options: Record<string, unknown> };
  readonly optimizers: readonly OptimizerGroup[];
  readonly sync: SyncMode;
  /** Steps per worker clock; in BSP, global steps. */
  readonly steps: number;
  /** Examples per global step, split across all workers. */
  readonly batchSize: number;
  readonly data: DataSpec;
  readonly freeze: readonly FreezeWindow[];
  /**
   * The starting state: a trajectory fixture's initial_state (parity runs), and/or dense
   * parameters' starting values from .npy files by parameter name (`rowshard supervised
   * -resume-from` starts fastText's output matrix so).
   */
  readonly initialState: { readonly fixture?: string; readonly dense?: Readonly<Record<string, string>> } | null;
  readonly cluster: ClusterSize;
  readonly timeouts: { readonly stepMs: number; readonly registrationMs: number };
  /** Log loss and throughput every n steps. */
  readonly logEverySteps: number;
  /** Held-out evaluation: worker 0 measures loss (and accuracy for classifiers) every n steps and at the end. */
  readonly eval: EvalConfig | null;
  /** Per-table changes to the model's declarations: frozen, optimizer group, from_pretrained. */
  readonly tables: Readonly<Record<string, TableOverride>>;
  /** Checkpoints: where, how often, how many to keep, what to resume from. */
  readonly checkpoint: CheckpointConfig | null;
  /** Per-request limits of the parameter servers (rows, bytes of row data); clients split to fit. */
  readonly limits: { readonly maxRequestRows: number; readonly maxRequestBytes: number };
  /** Deliberate slowness for tests and demos of the consistency modes: rank → extra ms per step. */
  readonly debug: { readonly slowRanks: Readonly<Record<string, number>> };
}

export interface ClusterSize {
  readonly ps: number;
  readonly trainers: number;
  readonly workersPerTrainer: number;
}

export const jobConfigFields = [
  'seed',
  'model',
  'optimizers',
  'sync',
  'steps',
  'batchSize',
  'data',
  'freeze',
  'initialState',
  'cluster',
  'timeouts',
  'limits',
  'logEverySteps',
  'checkpoint',
  'tables',
  'eval',
  'debug',
] as const;

/**
 * Validates a job; `tableNames` (the model's tables, known once the model is built) checks
 * the freeze plan. Every error names the field.
 */
export function parseJobConfig(value: unknown, tableNames: readonly string[] | null = null, field = ''): JobConfig {
  const at = (k: string) => (field ? `${field}.${k}` : k);
  const obj = requireObject(value, field || 'job');
  rejectUnknownKeys(obj, jobConfigFields, field);
  const model = requireObject(obj.model, at('model'));
  rejectUnknownKeys(model, ['name', 'path', 'options'], at('model'));
  if ((model.name === undefined) === (model.path === undefined)) {
    throw configError(at('model'), 'give exactly one of name (a built-in model) or path (a module)');
  }
  const modelSpec = {
    ...(model.name !== undefined ? { name: stringField(model.name, at('model.name')) } : {}),
    ...(model.path !== undefined ? { path: stringField(model.path, at('model.path')) } : {}),
    options: model.options === undefined ? {} : requireObject(model.options, at('model.options')),
  };
  const cluster = requireObject(obj.cluster ?? {}, at('cluster'));
  rejectUnknownKeys(cluster, ['ps', 'trainers', 'workersPerTrainer'], at('cluster'));
  const timeouts = requireObject(obj.timeouts ?? {}, at('timeouts'));
  rejectUnknownKeys(timeouts, ['stepMs', 'registrationMs'], at('timeouts'));
  const limits = requireObject(obj.limits ?? {}, at('limits'));
  rejectUnknownKeys(limits, ['maxRequestRows', 'maxRequestBytes'], at('limits'));
  let initialState: JobConfig['initialState'] = null;
  if (obj.initialState !== undefined && obj.initialState !== null) {
    const init = requireObject(obj.initialState, at('initialState'));
    rejectUnknownKeys(init, ['fixture', 'dense'], at('initialState'));
    if (init.fixture === undefined && init.dense === undefined) throw configError(at('initialState'), 'needs fixture or dense');
    let dense: Record<string, string> | undefined;
    if (init.dense !== undefined) {
      const given = requireObject(init.dense, at('initialState.dense'));
      dense = {};
      for (const [name, path] of Object.entries(given)) dense[name] = stringField(path, at(`initialState.dense.${name}`));
    }
    initialState = {
      ...(init.fixture === undefined ? {} : { fixture: stringField(init.fixture, at('initialState.fixture')) }),
      ...(dense ? { dense } : {}),
    };
  }
  const d = jobDefaults;
  const job: JobConfig = {
    seed: optional(obj.seed, d.seed, (v) => nonNegativeInt(v, at('seed'))),
    model: modelSpec,
    optimizers: parseOptimizerGroups(
      obj.optimizers ?? { embeddings: d.optimizers.embeddings, dense: d.optimizers.dense },
      at('optimizers'),
      // A warmup schedule's totalSteps defaults to the job's steps (a number checked just below).
      typeof obj.steps === 'number' && Number.isInteger(obj.steps) && obj.steps > 0 ? obj.steps : null,
    ),
    sync: parseSyncMode(obj.sync, at('sync')),
    steps: positiveInt(obj.steps, at('steps')),
    batchSize: optional(obj.batchSize, d.batchSize, (v) => positiveInt(v, at('batchSize'))),
    data: parseDataSpec(obj.data, at('data')),
    freeze: tableNames ? parseFreezePlan(obj.freeze, tableNames, at('freeze')) : [],
    initialState,
    cluster: {
      ps: optional(cluster.ps, d.cluster.ps, (v) => positiveInt(v, at('cluster.ps'))),
      trainers: optional(cluster.trainers, d.cluster.trainers, (v) => positiveInt(v, at('cluster.trainers'))),
      workersPerTrainer: optional(cluster.workersPerTrainer, d.cluster.workersPerTrainer, (v) =>
        positiveInt(v, at('cluster.workersPerTrainer')),
      ),
    },
    timeouts: {
      stepMs: optional(timeouts.stepMs, d.timeouts.stepMs, (v) => positiveInt(v, at('timeouts.stepMs'))),
      registrationMs: optional(timeouts.registrationMs, d.timeouts.registrationMs, (v) =>
        positiveInt(v, at('timeouts.registrationMs')),
      ),
    },
    limits: {
      maxRequestRows: optional(limits.maxRequestRows, d.limits.maxRequestRows, (v) =>
        positiveInt(v, at('limits.maxRequestRows')),
      ),
      maxRequestBytes: optional(limits.maxRequestBytes, d.limits.maxRequestBytes, (v) =>
        positiveInt(v, at('limits.maxRequestBytes')),
      ),
    },
    logEverySteps: optional(obj.logEverySteps, d.logEverySteps, (v) => positiveInt(v, at('logEverySteps'))),
    checkpoint: parseCheckpointConfig(obj.checkpoint, at('checkpoint')),
    tables: parseTableOverrides(obj.tables, tableNames, at('tables')),
    eval: parseEvalConfig(obj.eval, at('eval')),
    debug: parseDebug(obj.debug, at('debug')),
  };
  const workers = job.cluster.trainers * job.cluster.workersPerTrainer;
  if (job.batchSize < workers) {
    throw configError(at('batchSize'), `${job.batchSize} examples cannot be split across ${workers} workers`);
  }
  return job;
}

/** A job's per-request limits, as the parameter servers and their clients take them. */
export function requestLimitsOf(job: Pick<JobConfig, 'limits'>): RequestLimits {
  return { maxRows: job.limits.maxRequestRows, maxBytes: job.limits.maxRequestBytes };
}

/** Workers in the job: trainers × workers per trainer; ranks are 0 .. total-1. */
export function totalWorkers(cluster: ClusterSize): number {
  return cluster.trainers * cluster.workersPerTrainer;
}

/** Examples of global batch `size` that worker `rank` of `workers` takes: a contiguous slice. */
export function workerSlice(size: number, rank: number, workers: number): { start: number; end: number } {
  const base = Math.floor(size / workers);
  const extra = size % workers;
  const start = rank * base + Math.min(rank, extra);
  return { start, end: start + base + (rank < extra ? 1 : 0) };
}

function parseDebug(value: unknown, field: string): JobConfig['debug'] {
  if (value === undefined || value === null) return jobDefaults.debug;
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, ['slowRanks'], field);
  const slow = requireObject(obj.slowRanks ?? jobDefaults.debug.slowRanks, `${field}.slowRanks`);
  const slowRanks: Record<string, number> = {};
  for (const [rank, ms] of Object.entries(slow)) {
    if (!/^\d+$/.test(rank)) throw configError(`${field}.slowRanks.${rank}`, 'keys must be worker ranks');
    slowRanks[rank] = nonNegativeInt(ms, `${field}.slowRanks.${rank}`);
  }
  return { slowRanks };
}
