import { parsePsConfig } from '../ps-config.js';
import { defineProtocol, message, type ReplyOf } from './protocol.js';
import type { Senders } from './roles.js';
import {
  anyNumber,
  finite,
  float32Array,
  type Infer,
  list,
  nonEmptyText,
  nullable,
  object,
  optional,
  parsedBy,
  positiveInt,
  record,
  text,
  uint,
} from './schema.js';

/**
 * What the coordinator serves (docs/ARCHITECTURE.md, "Protocol"): registration of parameter
 * servers and trainers, the dense parameters and their step, the SSP clock, recovery,
 * evaluation reports, and the job's result. Ranks are checked against the job's worker
 * count by the handlers; the schemas make them safe non-negative integers first.
 */
const denseParams = object({ version: uint, params: record(float32Array) });

const rowCacheCounts = object({ hits: uint, lookups: uint, maxAge: uint });

/**
 * One held-out evaluation: `examples` of an eval set of `setSize` (null: generated data, which
 * has no end). Evaluations during training take a sample (`eval.batches`); the one after the
 * last step takes the whole eval file by default.
 */
const evalEntry = object({
  step: uint,
  loss: anyNumber,
  accuracy: nullable(finite),
  /** Binary models (one logit): ROC AUC over the evaluated examples. */
  auc: optional(nullable(finite)),
  examples: uint,
  setSize: optional(nullable(uint)),
});

export const jobResultSchema = object({
  steps: uint,
  examples: uint,
  seconds: finite,
  /**
   * BSP: the global loss of each step, null for steps before the checkpoint this run resumed
   * from. ASP/SSP: each worker step's loss, in arrival order.
   */
  losses: list(nullable(anyNumber)),
  denseParams: record(float32Array),
  /** SSP only: the largest clock gap any worker started a step with. */
  maxObservedLag: nullable(uint),
  /** Restores after a failure. */
  recoveries: uint,
  /** Held-out evaluations, in step order. */
  evals: list(evalEntry),
  /** Step of the last checkpoint this run wrote, null if none (or every one failed). */
  lastCheckpointStep: nullable(uint),
  /** Checkpoints this run wrote. */
  checkpointsWritten: uint,
  /** Checkpoints this run could not write (a full or read-only disk), each reported as `checkpoint_failed`. */
  checkpointsFailed: uint,
  /** The workers' row caches summed (SSP, ASP with cacheSteps), null without caches. */
  rowCache: nullable(rowCacheCounts),
});

/** The job as JSON, as the coordinator holds it; each role parses it with parseJobConfig. */
const jobJson = parsedBy('a job (a map)', (v) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a map');
  return v as Record<string, unknown>;
});

const epoch = optional(uint);

/** A PS's answer to the shared-storage check: the marker's nonce as it read it, or the problem. */
const storageProof = object({ nonce: optional(nonEmptyText), problem: optional(nonEmptyText) });
export type StorageProof = Infer<typeof storageProof>;

export const coordinatorProtocol = defineProtocol({
  /**
   * A PS asks for a shard (`shard`, or by `name`, or the lowest free) and gets its
   * configuration; `storage.dir`, when the job takes checkpoints, is the directory whose
   * marker (STORAGE_MARKER_FILE) the PS must read back.
   */
  register_ps: message(
    { url: nonEmptyText, shard: nullable(uint), name: nullable(text) },
    {
      shard: uint,
      config: parsedBy('a parameter-server configuration', (v) => parsePsConfig(v)),
      storage: optional(object({ dir: nonEmptyText })),
    },
  ),
  /**
   * The PS is configured and serving; once every shard is, the coordinator prepares the job.
   * `storage`: the nonce it read from the marker, or why it could not (E_STORAGE_NOT_SHARED
   * when it does not match the coordinator's).
   */
  ps_ready: message({ shard: uint, url: nonEmptyText, storage: optional(storageProof) }, {}),
  /**
   * A trainer takes `workers` ranks; answered once every shard is up. `claim`: the ranks a
   * live trainer already runs, sent again when its connection to the coordinator comes back
   * (a restarted coordinator knows no trainer), so no replacement is handed them.
   */
  register_trainer: message(
    { workers: optional(positiveInt), claim: optional(list(uint)) },
    { ranks: list(uint), workers: positiveInt, job: jobJson, shardUrls: list(nonEmptyText), startStep: uint, epoch: uint },
  ),
  dense_get: message({}, denseParams.shape),
  /** A worker's dense gradients, loss and example count for `step`; answered with the new parameters. */
  dense_step: message(
    {
      step: uint,
      rank: uint,
      epoch,
      grads: record(float32Array),
      loss: anyNumber,
      examples: uint,
      /** The worker's row caches so far (SSP, ASP with cacheSteps): rows served, rows asked, oldest served. */
      rowCache: optional(rowCacheCounts),
    },
    denseParams.shape,
  ),
  /** SSP: answered once every worker has reached clock − staleness. */
  clock_wait: message({ rank: uint, clock: uint, epoch }, {}),
  /** A worker hit an error it cannot handle alone: answered once the cluster is whole again. */
  recovery_wait: message(
    { rank: uint, epoch: uint, reason: text },
    { resumeStep: uint, epoch: uint, shardUrls: list(nonEmptyText) },
  ),
  worker_done: message({ rank: uint, steps: uint }, {}),
  eval_report: message(
    {
      step: uint,
      epoch,
      examples: uint,
      loss: anyNumber,
      accuracy: nullable(finite),
      auc: optional(nullable(finite)),
      setSize: optional(nullable(uint)),
    },
    {},
  ),
  /** Answered when the job is done. */
  result: message({}, { result: jobResultSchema }),
  ping: message({}, {}),
});

export type CoordinatorProtocol = typeof coordinatorProtocol;

/**
 * Who may send each message to the coordinator. Only a parameter server registers as a
 * shard (a shard's URL is where every worker sends its rows); only trainers take ranks and
 * report steps; the job's result (with the dense parameters) goes to the launcher, which
 * holds the coordinator credential.
 */
const trainer = ['trainer'] as const;
export const coordinatorSenders: Senders<CoordinatorProtocol> = Object.freeze({
  register_ps: ['ps'],
  ps_ready: ['ps'],
  register_trainer: trainer,
  dense_get: trainer,
  dense_step: trainer,
  clock_wait: trainer,
  recovery_wait: trainer,
  worker_done: trainer,
  eval_report: trainer,
  result: ['coordinator'],
  ping: ['coordinator', 'ps', 'trainer', 'viewer'],
});
export type JobResult = Infer<typeof jobResultSchema>;
export type EvalEntry = Infer<typeof evalEntry>;
export type RowCacheCounts = Infer<typeof rowCacheCounts>;

/** Row caches' counts summed (a worker's tables, the coordinator's workers); the oldest age is the largest. */
export function sumRowCacheCounts(caches: Iterable<RowCacheCounts>): RowCacheCounts {
  const total = { hits: 0, lookups: 0, maxAge: 0 };
  for (const c of caches) {
    total.hits += c.hits;
    total.lookups += c.lookups;
    total.maxAge = Math.max(total.maxAge, c.maxAge);
  }
  return total;
}
export type DenseParamsReply = ReplyOf<CoordinatorProtocol, 'dense_get'>;
