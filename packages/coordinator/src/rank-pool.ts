import { ErrorCodes, RowshardError } from '@rowshard/core';

/**
 * The job's worker ranks 0..workers-1 and who holds them. A trainer process takes a block of
 * free ranks when it registers; when its connection drops, the ranks it had not finished go
 * back to the pool for a replacement trainer (lowest first, so ranks fill in order).
 */
export class RankPool {
  private readonly freeRanks: number[];
  private readonly doneRanks = new Set<number>();
  private readonly byConnection = new Map<number, number[]>();

  constructor(readonly workers: number) {
    this.freeRanks = Array.from({ length: workers }, (_, i) => i);
  }

  /** Ranks not held by any trainer, ascending. */
  get free(): readonly number[] {
    return this.freeRanks;
  }

  /** Ranks whose worker reported it finished the job. */
  get done(): ReadonlySet<number> {
    return this.doneRanks;
  }

  get allDone(): boolean {
    return this.doneRanks.size === this.workers;
  }

  /** Gives `count` free ranks to the trainer on `connectionId`. */
  take(connectionId: number, count: number): number[] {
    if (count > this.freeRanks.length) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `the job has ${this.workers} workers and ${this.workers - this.freeRanks.length} are taken; cannot add ${count}`,
      );
    }
    const ranks = this.freeRanks.splice(0, count);
    this.byConnection.set(connectionId, ranks);
    return ranks;
  }

  /**
   * The trainer on `connectionId` already runs `ranks` (it registered with an earlier
   * coordinator, or before its connection dropped): they are its again. A rank another
   * trainer holds is refused (E_RANK_TAKEN), and nothing changes.
   */
  claim(connectionId: number, ranks: readonly number[]): number[] {
    for (const rank of ranks) {
      this.check(rank, 'register_trainer claim');
      const holder = [...this.byConnection].find(([id, held]) => id !== connectionId && held.includes(rank));
      if (holder) {
        throw new RowshardError(ErrorCodes.RANK_TAKEN, `rank ${rank} is run by another trainer now`, { rank });
      }
    }
    const claimed = [...new Set(ranks)].sort((a, b) => a - b);
    const own = this.byConnection.get(connectionId) ?? [];
    this.byConnection.set(
      connectionId,
      [...new Set([...own, ...claimed])].sort((a, b) => a - b),
    );
    for (const rank of claimed) {
      const at = this.freeRanks.indexOf(rank);
      if (at >= 0) this.freeRanks.splice(at, 1);
    }
    return claimed;
  }

  /**
   * The trainer on `connectionId` is gone: its unfinished ranks become free again and are
   * returned (empty when it had finished them all), or null when it held no ranks at all.
   */
  release(connectionId: number): number[] | null {
    const ranks = this.byConnection.get(connectionId);
    if (!ranks) return null;
    this.byConnection.delete(connectionId);
    const unfinished = ranks.filter((r) => !this.doneRanks.has(r));
    this.freeRanks.push(...unfinished);
    this.freeRanks.sort((a, b) => a - b);
    return unfinished;
  }

  markDone(rank: number): void {
    this.doneRanks.add(rank);
  }

  /**
   * A rank taken from a request: it indexes per-worker arrays and counts toward "all done",
   * so anything but an integer in [0, workers) is refused before it is used.
   */
  check(rank: unknown, request: string): number {
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank >= this.workers) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `${request}: rank must be an integer in [0, ${this.workers}), got ${JSON.stringify(rank)}`,
        { field: 'rank' },
      );
    }
    return rank;
  }
}
