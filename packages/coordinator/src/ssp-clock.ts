import { ErrorCodes, RowshardError } from '@rowshard/core';

/**
 * The SSP clock: each worker's clock is the number of steps it has finished. A worker may
 * start step c once every worker's clock is at least c - staleness. Each admission is
 * recorded with the slowest clock at that moment, so the bound can be checked afterwards.
 */
export class SspClock {
  readonly clocks: Float64Array;
  private readonly waiters: {
    clock: number;
    rank: number;
    resolve(): void;
    reject(e: RowshardError): void;
    timer: NodeJS.Timeout;
  }[] = [];
  /** Largest (c - slowest clock) seen at any admission: must never exceed staleness. */
  maxObservedLag = 0;

  constructor(
    ranks: number,
    readonly staleness: number,
    private readonly timeoutMs: number,
  ) {
    this.clocks = new Float64Array(ranks);
  }

  private slowest(): number {
    let m = Number.POSITIVE_INFINITY;
    for (const c of this.clocks) m = Math.min(m, c);
    return m;
  }

  private admit(clock: number): void {
    this.maxObservedLag = Math.max(this.maxObservedLag, clock - this.slowest());
  }

  /** Resolves when a worker may start step `clock`. */
  wait(rank: number, clock: number): Promise<void> {
    if (clock - this.slowest() <= this.staleness) {
      this.admit(clock);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(
          this.waiters.findIndex((w) => w.timer === timer),
          1,
        );
        reject(
          new RowshardError(
            ErrorCodes.TIMEOUT,
            `rank ${rank} waited ${this.timeoutMs} ms for the slowest worker to reach ${clock - this.staleness}`,
          ),
        );
      }, this.timeoutMs);
      timer.unref();
      this.waiters.push({ clock, rank, resolve, reject, timer });
    });
  }

  /** Restore: every worker's clock goes back to `clock`. */
  reset(clock: number): void {
    this.clocks.fill(clock);
  }

  /** Fails every waiting worker (the job is pausing for recovery). */
  abortWaiters(reason: RowshardError): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(reason);
    }
  }

  /** A worker finished a step: its clock becomes `clock` and blocked workers may go. */
  tick(rank: number, clock: number): void {
    this.clocks[rank] = Math.max(this.clocks[rank], clock);
    const slowest = this.slowest();
    for (const w of [...this.waiters]) {
      if (w.clock - slowest <= this.staleness) {
        clearTimeout(w.timer);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        this.admit(w.clock);
        w.resolve();
      }
    }
  }
}
