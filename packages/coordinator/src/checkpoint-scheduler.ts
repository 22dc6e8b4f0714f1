import type { JobConfig, PsTableConfig } from '@rowshard/core';
import { sparseRowOptimizer } from '@rowshard/core';
import type { Model } from '@rowshard/nn';
import type { CheckpointStore } from './checkpoint-store.js';
import type { DenseState } from './dense-state.js';
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
}

/**
 * When checkpoints are taken and how the state is held still for them. BSP: every worker is
 * waiting on the barrier's reply, so the boundary is already there. ASP/SSP: each worker is
 * parked at its next step boundary; once all are (finished workers count), the shards write
 * their part after each rank's last push has landed. Then the dense file, then the manifest.
 */
export class CheckpointScheduler {
  private requested = false;
  private lastAt = performance.now();
  private pending: { step: number; done: Promise<void> } | null = null;
  private parked: Map<number, { release(e?: Error): void }> | null = null;
  private lastAsyncStep = -1;

  constructor(private readonly ctx: CheckpointContext) {}

  /** Take one at the next step boundary. */
  request(): void {
    this.requested = true;
  }

  get lastStep(): number | null {
    return this.lastAsyncStep >= 0 ? this.lastAsyncStep : (this.pending?.step ?? null);
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
    // A failed checkpoint is forgotten: the recovery it causes comes back to this step, which
    // must then take it again (the kept rejection failed every replay of the step, a recovery
    // each time, until the workers gave up).
    done.catch(() => {
      if (this.pending?.done === done) this.pending = null;
    });
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

  /** Writes checkpoint `step`; in ASP/SSP the shards first wait until rank r has pushed `pushedSteps[r]` steps. */
  private async take(step: number, pushedSteps: readonly number[] | null): Promise<void> {
    const { store, links, job } = this.ctx;
    this.requested = false;
    const started = performance.now();
    const dir = store.stepDir(step);
    const shards = await links.checkpoint(dir, step, pushedSteps, this.ctx.epoch(), job.timeouts.stepMs);
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
      })),
      shards,
      dense: denseFile,
      totalBytes: shards.reduce((a, s) => a + s.bytes, 0) + denseFile.bytes,
      durationMs: Math.round(performance.now() - started),
      ...this.vocabulary(),
    });
    this.lastAt = performance.now();
    this.ctx.emit({ step, dir, bytes: manifest.totalBytes, durationMs: manifest.durationMs });
  }

  /** File data: the built-in text models' `embedding` rows start with the vocabulary's words. */
  private vocabulary(): { vocab?: Record<string, string> } {
    const data = this.ctx.job.data;
    if (data.kind !== 'file' || !data.vocabFile || !this.ctx.model.tables.some((t) => t.name === 'embedding')) return {};
    return { vocab: { embedding: data.vocabFile } };
  }
}
