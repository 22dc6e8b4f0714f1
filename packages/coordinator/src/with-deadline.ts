import { ErrorCodes, RowshardError } from '@rowshard/core';

/** `p`, or E_TIMEOUT naming `what` after `ms`: no wait in the coordinator is unbounded. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RowshardError(ErrorCodes.TIMEOUT, `timed out after ${ms} ms ${what}`)), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
