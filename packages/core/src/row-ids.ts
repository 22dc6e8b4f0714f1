import { ErrorCodes, RowshardError } from './errors.js';
import type { IdArray } from './wire/schema.js';

/**
 * Row ids as a model hands them over: numbers (dense tables, and hashed ids below 2^53) or a
 * BigUint64Array (hashed tables: raw 64-bit feature ids, Monolith's and TorchRec's keys).
 * A 64-bit id is never turned into a number, which would round it past 2^53; code that works
 * on one reads its (lo, hi) uint32 halves (`idHalves`), and BigInt only at the edges (text).
 */
export type RowIds = ArrayLike<number> | BigUint64Array;

/** The (lo, hi) uint32 halves of ids, without BigInt arithmetic (a view for a BigUint64Array). */
export function idHalves(ids: IdArray | RowIds): Uint32Array {
  if (ids instanceof BigUint64Array) return new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
  const out = new Uint32Array(ids.length * 2);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i] as number;
    out[2 * i] = v >>> 0;
    out[2 * i + 1] = Math.floor(v / 4294967296);
  }
  return out;
}

/** An id from its halves, as a decimal string (messages, text exports): exact past 2^53. */
export function idText(lo: number, hi: number): string {
  return hi === 0 ? String(lo) : ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/**
 * Ids a dense table or a model's own bookkeeping reads as numbers (row offsets, example
 * indices): a BigUint64Array there is a caller's mistake, named by `what`.
 */
export function numericIds(ids: RowIds, what: string): ArrayLike<number> {
  if (ids instanceof BigUint64Array)
    throw new RowshardError(
      ErrorCodes.INDEX_NOT_INTEGER,
      `${what}: takes number ids, got a BigUint64Array (64-bit ids are for hashed tables)`,
    );
  return ids;
}
