import { ErrorCodes, type ErrorDetails, RowshardError } from '../errors.js';

/**
 * Every frame is one msgpack map: `{v, type, id, ...}`. `v` is the protocol version, `id`
 * matches a response to its request, `type` picks the handler. Bulk payloads (ids, rows,
 * gradients) are typed arrays inside the map, never arrays of numbers.
 */
export const PROTOCOL_VERSION = 1;

export interface Envelope {
  readonly v: number;
  readonly type: string;
  readonly id: number;
  readonly [key: string]: unknown;
}

export interface ErrorEnvelope extends Envelope {
  readonly type: 'error';
  readonly error: { code: string; message: string; details: ErrorDetails };
}

/** Checks the envelope fields of a decoded frame; the handler checks the rest. */
export function asEnvelope(value: unknown): Envelope {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new RowshardError(ErrorCodes.BAD_REQUEST, 'frame is not a msgpack map');
  }
  const v = value as Record<string, unknown>;
  if (v.v !== PROTOCOL_VERSION) {
    throw new RowshardError(
      ErrorCodes.BAD_REQUEST,
      `unsupported protocol version ${String(v.v)} (this build speaks ${PROTOCOL_VERSION})`,
    );
  }
  if (typeof v.type !== 'string' || v.type.length === 0) throw new RowshardError(ErrorCodes.BAD_REQUEST, 'frame has no type');
  if (typeof v.id !== 'number' || !Number.isSafeInteger(v.id) || v.id < 0) {
    throw new RowshardError(ErrorCodes.BAD_REQUEST, 'frame has no valid request id');
  }
  return v as Envelope;
}

export function errorEnvelope(id: number, err: RowshardError): ErrorEnvelope {
  return { v: PROTOCOL_VERSION, type: 'error', id, error: err.toJSON() };
}
