import { ErrorCodes, type PushPart, RowshardError } from '@rowshard/core';
import { StepBarrier } from '@rowshard/transport';
import type { PsService } from './ps-service.js';
import type { GradientPart } from './row-kernels.js';

/**
 * BSP on one shard: every worker's push for step t is held until all `workers` ranks have
 * pushed, then the parts are taken in rank order, summed per row in that order
 * (deterministic, whatever the arrival order) and applied once; only then do the pushes of
 * step t return, and pulls tagged with step t+1 are held until step t is applied. A bad push
 * is refused at once, before it can hold the step up for everyone; every wait has a deadline.
 */
export class BspAggregator {
  private readonly barrier: StepBarrier<readonly PushPart[], number>;
  private readonly pullWaiters: { step: number; resolve(): void; reject(e: RowshardError): void; timer: NodeJS.Timeout }[] = [];

  constructor(
    private readonly service: PsService,
    workers: number,
    private readonly stepTimeoutMs: number,
  ) {
    this.barrier = new StepBarrier<readonly PushPart[], number>(
      workers,
      stepTimeoutMs,
      (step, contributions) => {
        const rows = this.service.pushStep(groupByTable(contributions), step);
        queueMicrotask(() => this.releasePulls());
        return rows;
      },
      'push',
      0,
    );
  }

  /** Steps fully applied: a pull tagged step t is served once appliedSteps >= t. */
  get appliedSteps(): number {
    return this.barrier.completedSteps;
  }

  /** Whether `rank`'s push of `step` is in (a split push's once all its pieces are). */
  pushed(step: number, rank: number): boolean {
    return this.barrier.contributed(step, rank);
  }

  /**
   * Each rank's parts are checked as they arrive (unless `checked`: a split push's pieces were,
   * one by one); the step applies them unchecked, once.
   */
  push(step: number, rank: number, parts: readonly PushPart[], checked = false): Promise<number> {
    if (!checked && step === this.barrier.completedSteps) this.service.checkPush(parts);
    return this.barrier.contribute(step, rank, parts);
  }

  private releasePulls(): void {
    for (const w of this.pullWaiters.filter((x) => x.step <= this.appliedSteps)) {
      clearTimeout(w.timer);
      this.pullWaiters.splice(this.pullWaiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Resolves once step `step - 1` has been applied (immediately if it has). */
  whenApplied(step: number): Promise<void> {
    if (step <= this.appliedSteps) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.pullWaiters.findIndex((w) => w.timer === timer);
        if (i >= 0) this.pullWaiters.splice(i, 1);
        reject(
          new RowshardError(
            ErrorCodes.TIMEOUT,
            `pull for step ${step} waited ${this.stepTimeoutMs} ms for step ${step - 1} to be applied`,
          ),
        );
      }, this.stepTimeoutMs);
      timer.unref();
      this.pullWaiters.push({ step, resolve, reject, timer });
    });
  }

  /** Restore: forget everything pending and continue from `appliedSteps`. */
  reset(appliedSteps: number, reason: RowshardError): void {
    this.abort(reason);
    this.barrier.reset(appliedSteps, reason);
  }

  /** Fails everything waiting (shutdown, restore). */
  abort(reason: RowshardError): void {
    this.barrier.abort(reason);
    for (const w of this.pullWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(reason);
    }
  }
}

/**
 * Each table's parts in rank order (each worker already summed its own duplicates, so the
 * shard's per-row sum runs over ranks 0, 1, 2, ... in that order), with the lr and table step
 * every rank must agree on.
 */
function groupByTable(
  contributions: readonly (readonly PushPart[])[],
): Map<string, { parts: GradientPart[]; lr: number; step: number }> {
  const byTable = new Map<string, { parts: GradientPart[]; lr: number; step: number }>();
  for (const parts of contributions) {
    for (const part of parts) {
      const entry = byTable.get(part.table);
      if (!entry) {
        byTable.set(part.table, { parts: [part], lr: part.lr, step: part.step });
        continue;
      }
      if (part.lr !== entry.lr || part.step !== entry.step) {
        throw new RowshardError(
          ErrorCodes.BAD_REQUEST,
          `table '${part.table}': ranks disagree on lr/step (${part.lr}/${part.step} vs ${entry.lr}/${entry.step})`,
        );
      }
      entry.parts.push(part);
    }
  }
  return byTable;
}
