import { ErrorCodes, RowshardError } from './errors.js';
import type { IdArray } from './wire/schema.js';

/**
 * How much one request to a parameter server may carry or ask for: rows (ids over all its
 * parts) and bytes of row data (ids × dim × 4 of gradients sent, rows asked for or loaded).
 * A shard refuses a bigger request (E_TOO_LARGE) before doing anything, so no single request
 * holds its event loop long (see the README's numbers); clients split what they send to fit.
 */
export interface RequestLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
}

export const defaultRequestLimits: RequestLimits = Object.freeze({ maxRows: 32_768, maxBytes: 8 * 1024 * 1024 });

/**
 * One part's size: its ids and the floats per id it carries or asks for; or, for a pooled
 * part (whose floats are per bag, not per id), its ids and `pooledBytes`: such a part goes
 * whole into one request, never cut.
 */
export interface SizedPart {
  readonly ids: { readonly length: number };
  readonly floatsPerRow: number;
  readonly pooledBytes?: number;
}

/**
 * A pull or push part's size at `dim` floats a row: ids × dim floats; a pooled one (with
 * `bagCount`) its ids and bags, 8 bytes a position, and a row per bag, sent whole.
 */
export function partSize(
  part: { readonly ids: { readonly length: number }; readonly bagCount?: number },
  dim: number,
): SizedPart {
  if (part.bagCount === undefined) return { ids: part.ids, floatsPerRow: dim };
  return { ids: part.ids, floatsPerRow: dim, pooledBytes: 8 * part.ids.length + 4 * part.bagCount * dim };
}

function bytesOf(p: SizedPart): number {
  return p.pooledBytes ?? 4 * p.ids.length * p.floatsPerRow;
}

/** Refuses a request over the limits with E_TOO_LARGE naming its size and the limit. */
export function checkRequestSize(message: string, parts: readonly SizedPart[], limits: RequestLimits): void {
  let rows = 0;
  let bytes = 0;
  for (const p of parts) {
    rows += p.ids.length;
    bytes += bytesOf(p);
  }
  if (rows > limits.maxRows) {
    throw new RowshardError(
      ErrorCodes.TOO_LARGE,
      `${message}: ${rows} rows in one request; the limit is ${limits.maxRows} (limits.maxRequestRows): send it in parts`,
      { rows, limit: limits.maxRows },
    );
  }
  if (bytes > limits.maxBytes) {
    throw new RowshardError(
      ErrorCodes.TOO_LARGE,
      `${message}: ${bytes} bytes of rows in one request; the limit is ${limits.maxBytes} (limits.maxRequestBytes): send it in parts`,
      { bytes, limit: limits.maxBytes },
    );
  }
}

/** A slice [from, to) of part `part`'s ids, as one piece of a split request. */
export interface RequestPiece {
  readonly part: number;
  readonly from: number;
  readonly to: number;
}

/**
 * Cuts parts into requests that each fit `limits`: parts go whole while they fit, and a part
 * too big for what is left of a request is cut into slices of whole rows. Returns each
 * request's pieces, in order; one request (with every part whole) when all fit.
 */
export function splitRequest(parts: readonly SizedPart[], limits: RequestLimits): RequestPiece[][] {
  const requests: RequestPiece[][] = [];
  let current: RequestPiece[] = [];
  let rows = 0;
  let bytes = 0;
  parts.forEach((p, part) => {
    if (p.pooledBytes !== undefined) {
      // Whole: in what is left of this request, else in a request of its own.
      const over = rows + p.ids.length > limits.maxRows || bytes + p.pooledBytes > limits.maxBytes;
      if (over && current.length > 0) {
        requests.push(current);
        current = [];
        rows = 0;
        bytes = 0;
      }
      if (p.ids.length > limits.maxRows || p.pooledBytes > limits.maxBytes) {
        throw new RowshardError(
          ErrorCodes.TOO_LARGE,
          `a pooled part of ${p.ids.length} ids and ${p.pooledBytes} bytes is over the request limits (${limits.maxRows} rows, ${limits.maxBytes} bytes)`,
        );
      }
      current.push({ part, from: 0, to: p.ids.length });
      rows += p.ids.length;
      bytes += p.pooledBytes;
      return;
    }
    const rowBytes = 4 * p.floatsPerRow;
    let from = 0;
    while (from < p.ids.length) {
      const roomRows = limits.maxRows - rows;
      const roomBytes = limits.maxBytes - bytes;
      const fits = Math.min(roomRows, rowBytes > 0 ? Math.floor(roomBytes / rowBytes) : roomRows);
      if (fits <= 0) {
        if (current.length === 0) {
          throw new RowshardError(
            ErrorCodes.TOO_LARGE,
            `one row of ${rowBytes} bytes is over the request limit of ${limits.maxBytes} bytes (limits.maxRequestBytes)`,
          );
        }
        requests.push(current);
        current = [];
        rows = 0;
        bytes = 0;
        continue;
      }
      const to = Math.min(p.ids.length, from + fits);
      current.push({ part, from, to });
      rows += to - from;
      bytes += (to - from) * rowBytes;
      from = to;
    }
  });
  if (current.length > 0 || requests.length === 0) requests.push(current);
  return requests;
}

/** ids[from, to) without copying. */
export function sliceIds(ids: IdArray, from: number, to: number): IdArray {
  return from === 0 && to === ids.length ? ids : ids.subarray(from, to);
}
