import { ErrorCodes, RowshardError } from '@rowshard/core';

interface Pending<T> {
  readonly contributions: (T | undefined)[];
  received: number;
  readonly waiters: { resolve(): void; reject(e: RowshardError): void }[];
  readonly timer: NodeJS.Timeout;
}

/**
 * Collects one contribution per rank for a step and runs `complete` with them in rank order
 * once all have arrived; every contributor's promise settles after that. A step that does not
 * fill within the deadline fails everyone waiting on it, naming the missing ranks.
 */
export class StepBarrier<T> {
  private readonly pending = new Map<number, Pending<T>>();
  completedSteps = 0;

  constructor(
    private readonly ranks: number,
    private readonly timeoutMs: number,
    private readonly complete: (step: number, inRankOrder: T[]) => void,
  ) {}

  contribute(step: number, rank: number, value: T): Promise<void> {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.ranks) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `rank must be in [0, ${this.ranks}), got ${rank}`);
    }
    // A retry of a contribution to a step already completed: nothing to do again.
    if (step < this.completedSteps) return Promise.resolve();
    if (step > this.completedSteps) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `contribution for step ${step} while the barrier is at step ${this.completedSteps}`,
        {
          step,
          rank,
        },
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
    const done = new Promise<void>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    // A retried contribution to a step still being collected keeps the first copy.
    if (p.contributions[rank] !== undefined) return done;
    p.contributions[rank] = value;
    p.received++;
    if (p.received === this.ranks) {
      clearTimeout(p.timer);
      this.pending.delete(step);
      try {
        this.complete(step, p.contributions as T[]);
        this.completedSteps = step + 1;
        for (const w of p.waiters) w.resolve();
      } catch (e) {
        const err = e instanceof RowshardError ? e : new RowshardError(ErrorCodes.INTERNAL, String(e));
        for (const w of p.waiters) w.reject(err);
      }
    }
    return done;
  }

  private expire(step: number): void {
    const p = this.pending.get(step);
    if (!p) return;
    this.pending.delete(step);
    const missing = p.contributions.flatMap((c, rank) => (c === undefined ? [rank] : []));
    const err = new RowshardError(
      ErrorCodes.TIMEOUT,
      `step ${step}: ranks ${missing.join(', ')} did not report within ${this.timeoutMs} ms`,
      {
        step,
        missing: missing.join(','),
      },
    );
    for (const w of p.waiters) w.reject(err);
  }

  abort(reason: RowshardError): void {
    for (const [step, p] of this.pending) {
      clearTimeout(p.timer);
      for (const w of p.waiters) w.reject(reason);
      this.pending.delete(step);
    }
  }

  reset(completedSteps: number): void {
    this.abort(new RowshardError(ErrorCodes.PAUSED, 'the step barrier was reset'));
    this.completedSteps = completedSteps;
  }
}
