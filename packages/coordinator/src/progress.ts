import type { JobConfig } from '@rowshard/core';

export interface ProgressEntry {
  readonly event: 'progress';
  readonly step: number;
  readonly loss: number;
  readonly examples: number;
  readonly examplesPerSec: number;
  readonly elapsedSec: number;
}

/**
 * Losses and throughput. BSP records one global loss per step (the workers' mean losses
 * weighted by their example counts, summed in rank order: PyTorch's loss on the global
 * batch). ASP/SSP record each worker step's loss as it arrives. A progress entry is emitted
 * every `logEverySteps` global steps (BSP) or every logEverySteps × workers reports.
 */
export class ProgressLog {
  /** BSP: null for steps this run did not compute (it resumed from a checkpoint after them). */
  readonly losses: (number | null)[] = [];
  /** Every progress entry (the last 2000), for the dashboard's curves. */
  readonly history: ProgressEntry[] = [];
  examples = 0;
  private reports = 0;
  private readonly started = performance.now();
  private windowStart = performance.now();
  private windowExamples = 0;
  private windowLoss = 0;
  private windowCount = 0;
  private last: ProgressEntry | null = null;

  constructor(
    private readonly job: JobConfig,
    private readonly workers: number,
    private readonly emit: (entry: ProgressEntry) => void,
  ) {}

  recordGlobalStep(step: number, reports: readonly { loss: number; examples: number }[]): void {
    let weighted = 0;
    let examples = 0;
    for (const r of reports) {
      weighted += r.loss * r.examples;
      examples += r.examples;
    }
    const loss = weighted / Math.max(1, examples);
    while (this.losses.length < step) this.losses.push(null);
    this.losses[step] = loss;
    this.add(step, loss, examples, (step + 1) % this.job.logEverySteps === 0 || step + 1 === this.job.steps);
  }

  recordWorkerStep(_rank: number, step: number, loss: number, examples: number): void {
    this.losses.push(loss);
    this.reports++;
    const every = this.job.logEverySteps * this.workers;
    this.add(step, loss, examples, this.reports % every === 0 || this.reports === this.job.steps * this.workers);
  }

  private add(step: number, loss: number, examples: number, flush: boolean): void {
    this.examples += examples;
    this.windowExamples += examples;
    this.windowLoss += loss;
    this.windowCount++;
    if (!flush) return;
    const now = performance.now();
    this.last = {
      event: 'progress',
      step: step + 1,
      loss: this.windowLoss / this.windowCount,
      examples: this.examples,
      examplesPerSec: this.windowExamples / Math.max(1e-9, (now - this.windowStart) / 1000),
      elapsedSec: (now - this.started) / 1000,
    };
    this.history.push(this.last);
    if (this.history.length > 2000) this.history.splice(0, this.history.length - 2000);
    this.windowStart = now;
    this.windowExamples = 0;
    this.windowLoss = 0;
    this.windowCount = 0;
    this.emit(this.last);
  }

  /** Restore to step `step`: BSP losses after it are dropped (they will be recomputed). */
  truncate(step: number): void {
    if (this.job.sync.mode === 'bsp') this.losses.length = Math.min(this.losses.length, step);
  }

  summary(): { examples: number; lastProgress: ProgressEntry | null } {
    return { examples: this.examples, lastProgress: this.last };
  }
}
