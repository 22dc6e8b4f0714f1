import type { JobConfig, JobIdentity, PsTableConfig } from '@rowshard/core';
import { ErrorCodes, RowshardError, sparseRowOptimizer, tableStepAt } from '@rowshard/core';
import type { Model } from '@rowshard/nn';
import type { CheckpointStore } from './checkpoint-store.js';
import type { DenseState } from './dense-state.js';
import { jobIdentity } from './job-identity.js';
import type { ShardLinks } from './shard-links.js';

export interface CheckpointContext {
  readonly store: CheckpointStore;
  readonly links: ShardLinks;
  readonly job: JobConfig;
  readonly model: Model;
  readonly psTables: readonly PsTableConfig[];
  readonly numShards: number;
  readonly workers: number;
  readonly dense: () => DenseState;
  readonly epoch: () => number;
  readonly emit: (info: { step: number; dir: string; bytes: number; durationMs: number }) => void;
  /** A checkpoint could not be written; what it had written is already removed. */
  readonly emitFailed: (info: CheckpointFailure) => void;
  /** Something went wrong that does not fail the checkpoint (retention). */
  readonly fault: (reason: string) => void;
}

export interface CheckpointFailure {
  readonly step: number;
  readonly dir: string;
  /** The error's code (E_CHECKPOINT_WRITE for a full or read-only disk). */
  readonly code: string;
  readonly reason: string;
}

/** Checkpoints this coordinator has written and failed to write, for the status, /metrics and the job's result. */
export interface CheckpointCounts {
  readonly written: number;
  readonly failed: number;
  /** Step of the last checkpoint written by this coordinator, or null. */
  readonly lastStep: number | null;
  readonly lastFailure: CheckpointFailure | null;
}

/**
 * When checkpoints are taken and how the state is held still for them. BSP: every worker is
 * waiting on the barrier's reply, so the boundary is already there. ASP/SSP: each worker is
 * parked at its next step boundary; once all are (finished workers count), the shards write
 * their part after each rank's last push has landed. Then the dense file, then the manifest.
 *
 * A checkpoint that cannot be written (a full or read-only disk, a shard's error) does not
 * stop training: what it wrote is removed, it is reported (`emitFailed`) and counted, the
 * workers go on, and the next one due is tried as usual. Having no manifest, it never
 * becomes the checkpoint a restore would pick.
 */
export class CheckpointScheduler {
  private requested = false;
  private lastAt = performance.now();
  private pending: { step: number; done: Promise<void> } | null = null;
  private parked: Map<number, { release(e?: Error): void }> | null = null;
  private lastAsyncStep = -1;
  private written = 0;
  private failed = 0;
  private lastWritten: number | null = null;
  private lastFailure: CheckpointFailure | null = null;

  constructor(private readonly ctx: CheckpointContext) {}

  /** Take one at the next step boundary. */
  request(): void {
    this.requested = true;
  }

  /** Step of the last checkpoint written, or null (none yet, or every one failed). */
  get lastStep(): number | null {
    return this.lastWritten;
  }

  get counts(): CheckpointCounts {
    return { written: this.written, failed: this.failed, lastStep: this.lastWritten, lastFailure: this.lastFailure };
  }

  get secondsSinceLast(): number {
    return (performance.now() - this.lastAt) / 1000;
  }

  private due(completed: number): boolean {
    const cfg = this.ctx.job.checkpoint;
    if (!cfg) return false;
    if (this.requested) return true;
    if (cfg.everySteps && completed % cfg.everySteps === 0) return true;
    return completed >= this.ctx.job.steps;
  }

  /** BSP, after the barrier of step `completed - 1`: every contributor awaits the same snapshot. */
  async atBarrier(completed: number): Promise<void> {
    if (this.pending?.step === completed) return this.pending.done;
    if (!this.due(completed)) return;
    const done = this.take(completed, null);
    this.pending = { step: completed, done };
    return done;
  }

  /** ASP/SSP: parks a worker that finished a step while a checkpoint is due. */
  park(rank: number, workerSteps: readonly number[], done: ReadonlySet<number>): Promise<void> | undefined {
    if (!this.parked) {
      const minStep = Math.min(...workerSteps);
      if (!this.due(minStep) || minStep === this.lastAsyncStep) return undefined;
      this.parked = new Map();
    }
    const parked = this.parked;
    const released = new Promise<void>((resolve, reject) => {
      parked.set(rank, { release: (e) => (e ? reject(e) : resolve()) });
    });
    this.maybeSnapshotParked(workerSteps, done);
    return released;
  }

  /** Once every unfinished worker is parked, snapshot and release them. */
  maybeSnapshotParked(workerSteps: readonly number[], done: ReadonlySet<number>): void {
    const parked = this.parked;
    if (!parked) return;
    for (let r = 0; r < this.ctx.workers; r++) if (!parked.has(r) && !done.has(r)) return;
    const step = Math.min(...workerSteps);
    this.lastAsyncStep = step;
    this.take(step, [...workerSteps]).then(
      () => {
        this.parked = null;
        for (const p of parked.values()) p.release();
      },
      (e: Error) => {
        this.parked = null;
        for (const p of parked.values()) p.release(e);
      },
    );
  }

  /** A recovery is starting: parked workers get its error. */
  abortParked(reason: Error): void {
    if (this.parked) for (const p of this.parked.values()) p.release(reason);
    this.parked = null;
  }

  /**
   * The cluster went back to `step`: the steps after it are trained again, and each is
   * checkpointed again when due (a checkpoint that failed because a shard died under it among
   * them: the end of the job's, above all).
   */
  restoredTo(step: number): void {
    if (this.lastAsyncStep > step) this.lastAsyncStep = -1;
    if (this.pending && this.pending.step > step) this.pending = null;
  }

  /**
   * Writes checkpoint `step`; in ASP/SSP the shards first wait until rank r has pushed
   * `pushedSteps[r]` steps. Never rejects: a failure is reported, counted and cleaned up.
   */
  private async take(step: number, pushedSteps: readonly number[] | null): Promise<void> {
    this.requested = false;
    const dir = this.ctx.store.stepDir(step);
    try {
      await this.write(step, dir, pushedSteps);
    } catch (e) {
      const error = e as Error & { code?: unknown };
      const removal = this.ctx.store.discard(dir);
      const failure: CheckpointFailure = {
        step,
        dir,
        code: typeof error.code === 'string' ? error.code : ErrorCodes.INTERNAL,
        reason: removal ? `${error.message} (and removing what it wrote failed: ${removal})` : error.message,
      };
      this.failed++;
      this.lastFailure = failure;
      // A failed checkpoint is forgotten: when a recovery replays up to this step (a shard that
      // died under it causes one), it is taken again, not answered from the failed attempt.
      if (this.pending?.step === step) this.pending = null;
      this.ctx.emitFailed(failure);
      return;
    }
    this.written++;
    this.lastWritten = step;
    try {
      this.ctx.store.prune();
    } catch (e) {
      this.ctx.fault(`removing old checkpoints: ${(e as Error).message}`);
    }
  }

  private async write(step: number, dir: string, pushedSteps: readonly number[] | null): Promise<void> {
    const { store, links, job } = this.ctx;
    const started = performance.now();
    const epoch = this.ctx.epoch();
    const shards = await links.checkpoint(dir, step, pushedSteps, epoch, job.timeouts.stepMs);
    // A recovery restored the cluster while the shards wrote: the dense state is the restored
    // one now, not step `step`'s, so this checkpoint would mix two steps.
    if (this.ctx.epoch() !== epoch) {
      throw new RowshardError(
        ErrorCodes.STALE_EPOCH,
        `checkpoint of step ${step}: the cluster was restored while it was written`,
      );
    }
    const dense = this.ctx.dense();
    const denseFile = store.writeDense(dir, { values: dense.snapshot(), states: dense.optimizerState(), version: dense.version });
    const manifest = store.commit(dir, {
      step,
      createdAt: new Date().toISOString(),
      seed: job.seed,
      numShards: this.ctx.numShards,
      tables: this.ctx.psTables.map((t) => ({
        spec: t.spec as unknown as Record<string, unknown>,
        optimizer: t.optimizer as unknown as Record<string, unknown> | null,
        stateFloats: t.optimizer ? sparseRowOptimizer(t.optimizer, t.spec.embeddingDim).stateFloatsPerRow : 0,
        optimizerStep: step > 0 ? tableStepAt(job.freeze, t.spec.name, t.spec.frozen, step - 1) : 0,
      })),
      shards,
      dense: denseFile,
      totalBytes: shards.reduce((a, s) => a + s.bytes, 0) + denseFile.bytes,
      durationMs: Math.round(performance.now() - started),
      ...this.vocabulary(dir),
      job: this.identity(),
    });
    this.lastAt = performance.now();
    this.ctx.emit({ step, dir, bytes: manifest.totalBytes, durationMs: manifest.durationMs });
  }

  private jobIdentity: JobIdentity | null = null;

  /** The job's settings and fingerprint, which decide whether a later run resumes this checkpoint on its own. */
  private identity(): JobIdentity {
    this.jobIdentity ??= jobIdentity(this.ctx.job);
    return this.jobIdentity;
  }

  /**
   * File data: the built-in text models' `embedding` rows start with the vocabulary's words.
   * The checkpoint keeps its own copy, named relative to its directory.
   */
  private vocabulary(dir: string): { vocab?: Record<string, string> } {
    const data = this.ctx.job.data;
    if (data.kind !== 'file' || !data.vocabFile || !this.ctx.model.tables.some((t) => t.name === 'embedding')) return {};
    const file = this.ctx.store.writeVocabulary(dir, 'embedding', data.vocabFile);
    if (!file) {
      this.ctx.fault(`checkpoint ${dir}: vocabulary ${data.vocabFile} cannot be read; the checkpoint has no words`);
      return {};
    }
    return { vocab: { embedding: file } };
  }
}
