import { readSync } from 'node:fs';

/** The most bytes one readSync call is given: Node's binding aborts the process on a length of 2 GiB or more. */
const MAX_READ_BYTES = 1 << 30;

/**
 * Reads `into.length` bytes of `fd` from `position` (a model's rows: 800 MB at fastText's
 * defaults, 2.4 GB at -dim 300), in calls of at most 1 GiB; returns what was read, shorter
 * where the file ends first.
 */
export function readAt(fd: number, into: Uint8Array, position: number): Uint8Array {
  for (let at = 0; at < into.length; ) {
    const n = readSync(fd, into, at, Math.min(into.length - at, MAX_READ_BYTES), position + at);
    if (n === 0) return into.subarray(0, at);
    at += n;
  }
  return into;
}
