import {
  type CoordinatorProtocol,
  type DenseParamsReply,
  ErrorCodes,
  type EvalEntry,
  type JobConfig,
  type JobResult,
  type RequestOf,
  type RowCacheCounts,
  RowshardError,
  sumRowCacheCounts,
} from '@rowshard/core';
import type { Model } from '@rowshard/nn';
import { StepBarrier } from '@rowshard/transport';
import type { CheckpointScheduler } from './checkpoint-scheduler.js';
import { DenseState } from './dense-state.js';
import { type ProgressEntry, ProgressLog } from './progress.js';
import type { RankPool } from './rank-pool.js';
import { SspClock } from './ssp-clock.js';

interface StepReport {
  readonly grads: Record<string, Float32Array>;
  readonly loss: number;
  readonly examples: number;
}

export interface TrainingStepsOptions {
  readonly job: JobConfig;
  readonly model: Model;
  readonly ranks: RankPool;
  readonly initialDense: Record<string, Float32Array>;
  readonly checkpointing: CheckpointScheduler | null;
  readonly onProgress: (entry: ProgressEntry) => void;
  readonly onEval: (entry: EvalEntry) => void;
}

/**
 * The training clock as the coordinator keeps it: the dense parameters and their optimizer,
 * the BSP barrier (dense gradients summed in rank order) or each worker's own step count
 * (ASP/SSP) with the SSP clock, losses and progress, held-out evaluations, and the step
 * boundaries where checkpoints are taken.
 */
export class TrainingSteps {
  dense: DenseState;
  private readonly barrier: StepBarrier<StepReport> | null;
  readonly clock: SspClock | null;
  /** Steps each rank has completed (ASP/SSP; BSP keeps them in the barrier). */
  readonly workerSteps: number[];
  progress: ProgressLog;
  readonly evals: EvalEntry[] = [];
  /** Each rank's row-cache counts as last reported (cumulative on the worker). */
  private readonly rowCaches = new Map<number, RowCacheCounts>();
  private startedAt = 0;

  constructor(private readonly o: TrainingStepsOptions) {
    const { job } = o;
    const workers = o.ranks.workers;
    this.workerSteps = new Array(workers).fill(0);
    this.dense = this.freshDense();
    this.progress = new ProgressLog(job, workers, o.onProgress);
    this.barrier =
      job.sync.mode === 'bsp'
        ? new StepBarrier<StepReport>(workers, job.timeouts.stepMs, (step, reports) => {
            this.dense.apply(
              reports.map((r) => r.grads),
              step,
            );
            this.progress.recordGlobalStep(step, reports);
          })
        : null;
    this.clock = job.sync.mode === 'ssp' ? new SspClock(workers, job.sync.staleness, job.timeouts.stepMs) : null;
  }

  freshDense(): DenseState {
    return new DenseState(this.o.model.dense, this.o.job.optimizers, this.o.job.seed, this.o.initialDense);
  }

  /** Marks the start of the timed run (the first trainer's registration). */
  start(): void {
    if (this.startedAt === 0) this.startedAt = performance.now();
  }

  /** Where a trainer taking `ranks` starts: the barrier's step, or its ranks' slowest clock. */
  startStepFor(ranks: readonly number[]): number {
    return this.barrier ? this.barrier.completedSteps : Math.min(...ranks.map((r) => this.workerSteps[r]));
  }

  denseParams(): DenseParamsReply {
    return { version: this.dense.version, params: this.dense.snapshot() };
  }

  /**
   * A worker's dense gradients for `step`. BSP: held until every rank reported, then applied
   * once in rank order (and a due checkpoint taken). ASP/SSP: applied at once, unless it is a
   * retry of a step already applied. Answered with the parameters to use next.
   */
  async denseStep(request: RequestOf<CoordinatorProtocol, 'dense_step'>, rank: number): Promise<DenseParamsReply> {
    const { step, loss, examples } = request;
    this.checkStep(step, rank);
    const grads = this.dense.checkGrads(request.grads);
    if (request.rowCache) this.rowCaches.set(rank, request.rowCache);
    if (this.barrier) {
      await this.barrier.contribute(step, rank, { grads, loss, examples });
      await this.o.checkpointing?.atBarrier(step + 1);
    } else {
      // A step below the rank's count is a retry whose reply was lost: nothing to apply again.
      if (step === this.workerSteps[rank]) {
        this.dense.apply([grads], step);
        this.progress.recordWorkerStep(rank, step, loss, examples);
        this.workerSteps[rank] = step + 1;
        this.clock?.tick(rank, step + 1);
      }
      await this.o.checkpointing?.park(rank, this.workerSteps, this.o.ranks.done);
    }
    return this.denseParams();
  }

  /**
   * A rank reports its steps in order: BSP, the barrier's step (or an earlier one, a retry);
   * ASP/SSP, its next step, where it resumes after a restart. A later step is no step of this
   * job's: taken, it would move the barrier or skip the rank's count ahead.
   */
  private checkStep(step: number, rank: number): void {
    const next = this.barrier ? this.barrier.completedSteps : this.workerSteps[rank];
    if (step > next) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `dense_step: step ${step} of rank ${rank} is ahead of the coordinator (its next is step ${next})`,
        { field: 'step' },
      );
    }
  }

  async clockWait(rank: number, clock: number): Promise<void> {
    await this.clock?.wait(rank, clock);
  }

  evalReport(request: RequestOf<CoordinatorProtocol, 'eval_report'>): void {
    const entry: EvalEntry = {
      step: request.step,
      loss: request.loss,
      accuracy: request.accuracy,
      ...(request.auc != null ? { auc: request.auc } : {}),
      examples: request.examples,
      setSize: request.setSize ?? null,
    };
    this.evals.push(entry);
    this.o.onEval(entry);
  }

  /**
   * A worker finished the job. It must not hold back SSP waiters or an ASP checkpoint. Returns
   * the job's result once every worker has finished, otherwise null.
   */
  workerDone(rank: number, recoveries: number): JobResult | null {
    this.o.ranks.markDone(rank);
    this.clock?.tick(rank, Number.MAX_SAFE_INTEGER);
    this.o.checkpointing?.maybeSnapshotParked(this.workerSteps, this.o.ranks.done);
    if (!this.o.ranks.allDone) return null;
    return {
      steps: this.o.job.steps,
      examples: this.progress.examples,
      seconds: (performance.now() - this.startedAt) / 1000,
      losses: this.progress.losses,
      denseParams: this.dense.snapshot(),
      maxObservedLag: this.clock ? this.clock.maxObservedLag : null,
      recoveries,
      evals: this.evals,
      lastCheckpointStep: this.o.checkpointing?.lastStep ?? null,
      checkpointsWritten: this.o.checkpointing?.counts.written ?? 0,
      checkpointsFailed: this.o.checkpointing?.counts.failed ?? 0,
      rowCache: this.rowCacheTotals(),
    };
  }

  /** The workers' row caches summed, or null when none reported (BSP, ASP without cacheSteps). */
  rowCacheTotals(): RowCacheCounts | null {
    return this.rowCaches.size === 0 ? null : sumRowCacheCounts(this.rowCaches.values());
  }

  /** Recovery is starting, or the coordinator is closing: every wait on a step fails with `reason`. */
  pause(reason: RowshardError): void {
    this.barrier?.abort(reason);
    this.clock?.abortWaiters(reason);
    this.o.checkpointing?.abortParked(reason);
  }

  /** The cluster was restored to `step`, with these dense parameters. */
  resetTo(step: number, dense: DenseState): void {
    this.dense = dense;
    this.o.checkpointing?.restoredTo(step);
    this.barrier?.reset(step);
    this.clock?.reset(step);
    this.workerSteps.fill(step);
    this.progress.truncate(step);
    // Steps after `step` are trained again, and evaluated again: their old results go.
    const kept = this.evals.filter((e) => e.step <= step);
    this.evals.splice(0, this.evals.length, ...kept);
  }
}
