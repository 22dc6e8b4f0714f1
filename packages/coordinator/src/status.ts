import type { EvalEntry, RowCacheCounts } from '@rowshard/core';
import type { CheckpointCounts } from './checkpoint-scheduler.js';
import type { ProgressEntry } from './progress.js';
import type { Phase } from './recovery.js';
import type { ShardLoad } from './shard-links.js';

/** What /api/status serves, the dashboard draws and /metrics reads: the coordinator's live view of the job. */
export interface CoordinatorStatus {
  readonly phase: Phase;
  /** The epoch requests are tagged with (clock-based: unique across coordinator restarts). */
  readonly epoch: number;
  /** Restores by this coordinator so far (0 before the first): the epoch as people count it. */
  readonly restores: number;
  /** Each shard's PS URL, null until one registers. */
  readonly shards: readonly (string | null)[];
  readonly shardsReady: readonly boolean[];
  readonly workers: number;
  readonly workersPerTrainer: number;
  readonly freeRanks: readonly number[];
  readonly workersDone: number;
  readonly denseVersion: number;
  readonly shardLoad: readonly ShardLoad[];
  readonly recoveries: number;
  readonly evals: readonly EvalEntry[];
  readonly progressHistory: readonly ProgressEntry[];
  readonly secondsSinceCheckpoint: number | null;
  /** Checkpoints written and failed by this coordinator, null when the job takes none. */
  readonly checkpoints: CheckpointCounts | null;
  /** Examples trained on so far. */
  readonly examples: number;
  readonly lastProgress: ProgressEntry | null;
  /** The workers' row caches (SSP, ASP with cacheSteps), or null. */
  readonly rowCache: RowCacheCounts | null;
}
