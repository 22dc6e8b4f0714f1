import { ErrorCodes, RowshardError } from '@rowshard/core';

interface Pending<T, R> {
  readonly contributions: (T | undefined)[];
  received: number;
  readonly waiters: { resolve(r: R): void; reject(e: RowshardError): void }[];
  readonly timer: NodeJS.Timeout;
}

/**
 * A BSP step barrier: one contribution per rank for the current step; once all ranks have
 * contributed, `complete` runs once with them in rank order (never arrival order) and every
 * contributor's promise settles with its result. A retried contribution (same step and rank)
 * keeps the first copy and waits for the same outcome; one for a step already completed is
 * acknowledged without effect. A step that does not fill within the deadline fails everyone
 * waiting on it, naming the missing ranks. Used by the coordinator (dense gradients) and by
 * each parameter server (sparse pushes).
 */
export class StepBarrier<T, R = void> {
  private readonly pending = new Map<number, Pending<T, R>>();
  completedSteps = 0;

  constructor(
    private readonly ranks: number,
    private readonly timeoutMs: number,
    private readonly complete: (step: number, inRankOrder: T[]) => R,
    /** What the contributions are, for messages ("push", "report"). */
    private readonly verb = 'report',
    /** The result for a retried contribution to a step already completed. */
    private readonly alreadyDone?: R,
  ) {}

  contribute(step: number, rank: number, value: T): Promise<R> {
    this.checkRank(rank);
    if (step < this.completedSteps) return Promise.resolve(this.alreadyDone as R);
    if (step > this.completedSteps) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `${this.verb} for step ${step} while the barrier is at step ${this.completedSteps}`,
        { step, rank },
      );
    }
    let p = this.pending.get(step);
    if (!p) {
      const timer = setTimeout(() => this.expire(step), this.timeoutMs);
      timer.unref();
      p = { contributions: Array.from({ length: this.ranks }, () => undefined), received: 0, waiters: [], timer };
      this.pending.set(step, p);
    }
    const entry = p;
    const done = new Promise<R>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    if (p.contributions[rank] !== undefined) return done;
    p.contributions[rank] = value;
    p.received++;
    if (p.received === this.ranks) this.finish(step, p);
    return done;
  }

  /** Whether `rank` has contributed to `step` (every rank has, to a completed step). */
  contributed(step: number, rank: number): boolean {
    this.checkRank(rank);
    return step < this.completedSteps || this.pending.get(step)?.contributions[rank] !== undefined;
  }

  private checkRank(rank: number): void {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.ranks) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `rank must be in [0, ${this.ranks}), got ${rank}`);
    }
  }

  private finish(step: number, p: Pending<T, R>): void {
    clearTimeout(p.timer);
    this.pending.delete(step);
    let result: R;
    try {
      result = this.complete(step, p.contributions as T[]);
    } catch (e) {
      const err = e instanceof RowshardError ? e : new RowshardError(ErrorCodes.INTERNAL, String(e));
      for (const w of p.waiters) w.reject(err);
      return;
    }
    this.completedSteps = step + 1;
    for (const w of p.waiters) w.resolve(result);
  }

  private expire(step: number): void {
    const p = this.pending.get(step);
    if (!p) return;
    this.pending.delete(step);
    const missing = p.contributions.flatMap((c, rank) => (c === undefined ? [rank] : []));
    const err = new RowshardError(
      ErrorCodes.TIMEOUT,
      `step ${step}: ranks ${missing.join(', ')} did not ${this.verb} within ${this.timeoutMs} ms; nothing was applied`,
      { step, missing: missing.join(',') },
    );
    for (const w of p.waiters) w.reject(err);
  }

  /** Fails everything waiting (shutdown, recovery). */
  abort(reason: RowshardError): void {
    for (const [step, p] of this.pending) {
      clearTimeout(p.timer);
      for (const w of p.waiters) w.reject(reason);
      this.pending.delete(step);
    }
  }

  /** Restore: forget everything pending and continue from `completedSteps`. */
  reset(completedSteps: number, reason = new RowshardError(ErrorCodes.PAUSED, 'the step barrier was reset')): void {
    this.abort(reason);
    this.completedSteps = completedSteps;
  }
}
