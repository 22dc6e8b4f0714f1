import { ErrorCodes, type PushPart, RowshardError } from '@rowshard/core';
import { StepBarrier } from '@rowshard/transport';
import type { PsService } from './ps-service.js';

/**
 * BSP on one shard: every worker's push for step t is held until all `workers` ranks have
 * pushed, then the parts are concatenated in rank order, summed per row in that order
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
      (_step, contributions) => {
        const rows = this.service.pushChecked(concatByTable(contributions));
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

  /** Each rank's parts are checked as they arrive; the step applies them unchecked, once. */
  push(step: number, rank: number, parts: readonly PushPart[]): Promise<number> {
    if (step === this.barrier.completedSteps) this.service.checkPush(parts);
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
 * One part per table, rows in rank order: each worker already summed its own duplicates, so
 * the PS's per-row sum runs over ranks 0, 1, 2, ... in that order.
 */
function concatByTable(contributions: readonly (readonly PushPart[])[]): PushPart[] {
  const byTable = new Map<string, PushPart[]>();
  for (const parts of contributions) {
    for (const part of parts) {
      const list = byTable.get(part.table) ?? [];
      list.push(part);
      byTable.set(part.table, list);
    }
  }
  return [...byTable.entries()].map(([table, parts]) => {
    if (parts.length === 1) return parts[0];
    const n = parts.reduce((a, p) => a + p.ids.length, 0);
    const hashed = parts[0].ids instanceof BigUint64Array;
    const ids = hashed ? new BigUint64Array(n) : new Float64Array(n);
    const grads = new Float32Array(parts.reduce((a, p) => a + p.grads.length, 0));
    let at = 0;
    let gat = 0;
    for (const p of parts) {
      if (hashed) (ids as BigUint64Array).set(p.ids as BigUint64Array, at);
      else for (let i = 0; i < p.ids.length; i++) (ids as Float64Array)[at + i] = Number(p.ids[i]);
      grads.set(p.grads, gat);
      at += p.ids.length;
      gat += p.grads.length;
    }
    const first = parts[0];
    for (const p of parts) {
      if (p.lr !== first.lr || p.step !== first.step) {
        throw new RowshardError(
          ErrorCodes.BAD_REQUEST,
          `table '${table}': ranks disagree on lr/step (${p.lr}/${p.step} vs ${first.lr}/${first.step})`,
        );
      }
    }
    return { table, ids, grads, lr: first.lr, step: first.step };
  });
}
