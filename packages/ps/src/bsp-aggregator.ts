import { ErrorCodes, type PushPart, RowshardError } from '@rowshard/core';
import type { PsService } from './ps-service.js';

interface PendingStep {
  readonly contributions: (readonly PushPart[] | undefined)[];
  received: number;
  readonly waiters: { resolve(rows: number): void; reject(e: RowshardError): void }[];
  readonly timer: NodeJS.Timeout;
}

/**
 * BSP on one shard: every worker's push for step t is held until all `workers` ranks have
 * pushed, then the parts are concatenated in rank order, summed per row in that order
 * (deterministic, whatever the arrival order) and applied once; only then do the pushes of
 * step t return, and pulls tagged with step t+1 are held until step t is applied. Every wait
 * has a deadline and ends in a typed error naming what was missing.
 */
export class BspAggregator {
  /** Steps fully applied: a pull tagged step t is served once appliedSteps >= t. */
  appliedSteps = 0;
  private readonly pending = new Map<number, PendingStep>();
  private readonly pullWaiters: { step: number; resolve(): void; reject(e: RowshardError): void; timer: NodeJS.Timeout }[] = [];

  constructor(
    private readonly service: PsService,
    private readonly workers: number,
    private readonly stepTimeoutMs: number,
  ) {}

  push(step: number, rank: number, parts: readonly PushPart[]): Promise<number> {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.workers) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `rank must be in [0, ${this.workers}), got ${rank}`);
    }
    if (step < this.appliedSteps) {
      // A retry of a push that was already applied (its reply was lost): apply nothing again.
      return Promise.resolve(0);
    }
    if (step > this.appliedSteps) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `push for step ${step} before step ${this.appliedSteps} was applied`, {
        step,
        rank,
      });
    }
    // Refuse a bad part now, before it can poison the step for everyone.
    this.service.checkPush(parts);
    let p = this.pending.get(step);
    if (!p) {
      const timer = setTimeout(() => this.expire(step), this.stepTimeoutMs);
      timer.unref();
      p = { contributions: Array.from({ length: this.workers }, () => undefined), received: 0, waiters: [], timer };
      this.pending.set(step, p);
    }
    const entry = p;
    const done = new Promise<number>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    // A retried push for a step still being collected keeps the first copy (at most once).
    if (p.contributions[rank] !== undefined) return done;
    p.contributions[rank] = parts;
    p.received++;
    if (p.received === this.workers) this.apply(step, p);
    return done;
  }

  private apply(step: number, p: PendingStep): void {
    clearTimeout(p.timer);
    this.pending.delete(step);
    let rows = 0;
    try {
      rows = this.service.push(concatByTable(p.contributions as (readonly PushPart[])[]));
    } catch (e) {
      const err = e instanceof RowshardError ? e : new RowshardError(ErrorCodes.INTERNAL, String(e));
      for (const w of p.waiters) w.reject(err);
      return;
    }
    this.appliedSteps = step + 1;
    for (const w of p.waiters) w.resolve(rows);
    for (const w of this.pullWaiters.filter((x) => x.step <= this.appliedSteps)) {
      clearTimeout(w.timer);
      this.pullWaiters.splice(this.pullWaiters.indexOf(w), 1);
      w.resolve();
    }
  }

  private expire(step: number): void {
    const p = this.pending.get(step);
    if (!p) return;
    this.pending.delete(step);
    const missing = p.contributions.flatMap((c, rank) => (c === undefined ? [rank] : []));
    const err = new RowshardError(
      ErrorCodes.TIMEOUT,
      `step ${step}: ranks ${missing.join(', ')} did not push within ${this.stepTimeoutMs} ms; nothing was applied`,
      { step, missing: missing.join(',') },
    );
    for (const w of p.waiters) w.reject(err);
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

  /** Fails everything waiting (shutdown, restore). */
  /** Restore: forget everything pending and continue from `appliedSteps`. */
  reset(appliedSteps: number, reason: RowshardError): void {
    this.abort(reason);
    this.appliedSteps = appliedSteps;
  }

  abort(reason: RowshardError): void {
    for (const [step, p] of this.pending) {
      clearTimeout(p.timer);
      for (const w of p.waiters) w.reject(reason);
      this.pending.delete(step);
    }
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
