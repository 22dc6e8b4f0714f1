import { ErrorCodes, type PushPart, RowshardError } from '@rowshard/core';

export interface Chunk {
  readonly index: number;
  readonly count: number;
}

function mismatch(rank: number, step: number, count: number, chunk: Chunk): RowshardError {
  return new RowshardError(
    ErrorCodes.BAD_REQUEST,
    `push: rank ${rank} split step ${step} into ${count} pieces, and now sends piece ${chunk.index} of ${chunk.count}`,
    { field: 'chunk' },
  );
}

/**
 * ASP: the pieces of each rank's current split push. Pieces hold disjoint rows and sparse
 * optimizers update rows independently, so each piece is applied on arrival (a request stays
 * small) and the result is the unsplit push's. A retried piece is applied once; the step
 * counts as pushed when every piece is in.
 */
export class AspPushPieces {
  private readonly open = new Map<number, { step: number; count: number; applied: Set<number> }>();

  /** Whether piece `chunk` of (rank, step) was applied already. */
  seen(rank: number, step: number, chunk: Chunk): boolean {
    const o = this.open.get(rank);
    if (!o || o.step !== step) return false;
    if (o.count !== chunk.count) throw mismatch(rank, step, o.count, chunk);
    return o.applied.has(chunk.index);
  }

  /** Records an applied piece; true once the rank's whole push of `step` is in. */
  applied(rank: number, step: number, chunk: Chunk): boolean {
    let o = this.open.get(rank);
    if (!o || o.step !== step) {
      // A new step replaces an unfinished one: that rank was restarted mid-push.
      o = { step, count: chunk.count, applied: new Set() };
      this.open.set(rank, o);
    }
    o.applied.add(chunk.index);
    if (o.applied.size < o.count) return false;
    this.open.delete(rank);
    return true;
  }

  clear(): void {
    this.open.clear();
  }
}

interface Assembling {
  readonly step: number;
  readonly count: number;
  readonly pieces: (readonly PushPart[] | undefined)[];
  received: number;
  readonly outcome: Promise<number>;
  settle(result: Promise<number>): void;
  fail(e: RowshardError): void;
  readonly timer: NodeJS.Timeout;
}

/**
 * BSP: a rank's split push is held until all its pieces are in, then handed to the step
 * barrier as one contribution (the pieces' parts, in piece order). Every piece's request is
 * answered with the step's outcome; a retried piece waits for the same one. Pieces that never
 * complete fail at the step deadline.
 */
export class BspPushPieces {
  private readonly open = new Map<number, Assembling>();

  constructor(private readonly timeoutMs: number) {}

  add(
    rank: number,
    step: number,
    chunk: Chunk,
    parts: readonly PushPart[],
    contribute: (all: PushPart[]) => Promise<number>,
  ): Promise<number> {
    let a = this.open.get(rank);
    if (a && a.step !== step) {
      this.drop(
        rank,
        new RowshardError(ErrorCodes.BAD_REQUEST, `push: rank ${rank} left step ${a.step} unfinished for step ${step}`),
      );
      a = undefined;
    }
    if (!a) {
      a = this.start(rank, step, chunk.count);
      this.open.set(rank, a);
    }
    if (a.count !== chunk.count) throw mismatch(rank, step, a.count, chunk);
    if (a.pieces[chunk.index] === undefined) {
      a.pieces[chunk.index] = parts;
      a.received++;
      if (a.received === a.count) {
        clearTimeout(a.timer);
        this.open.delete(rank);
        a.settle(contribute(a.pieces.flatMap((p) => p ?? [])));
      }
    }
    return a.outcome;
  }

  private start(rank: number, step: number, count: number): Assembling {
    let resolve!: (r: Promise<number>) => void;
    let reject!: (e: RowshardError) => void;
    const outcome = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(
      () =>
        this.drop(
          rank,
          new RowshardError(
            ErrorCodes.TIMEOUT,
            `step ${step}: rank ${rank} sent only some of its ${count} push pieces within ${this.timeoutMs} ms; nothing was applied`,
          ),
        ),
      this.timeoutMs,
    );
    timer.unref();
    return { step, count, pieces: new Array(count).fill(undefined), received: 0, outcome, settle: resolve, fail: reject, timer };
  }

  private drop(rank: number, reason: RowshardError): void {
    const a = this.open.get(rank);
    if (!a) return;
    clearTimeout(a.timer);
    this.open.delete(rank);
    a.fail(reason);
  }

  /** Fails every unfinished push (restore, reconfiguration). */
  abort(reason: RowshardError): void {
    for (const rank of [...this.open.keys()]) this.drop(rank, reason);
  }
}
