/**
 * Errors with stable codes. A code is part of the wire protocol and of the CLI's exit
 * messages: never rename one, only add. `details` carries the machine-readable facts
 * (table, index, valid range, field, file, line) that the message spells out for people.
 */
export const ErrorCodes = {
  BAD_CONFIG: 'E_BAD_CONFIG',
  BAD_FIXTURE: 'E_BAD_FIXTURE',
  BAD_DATA: 'E_BAD_DATA',
  INDEX_OUT_OF_RANGE: 'E_INDEX_OUT_OF_RANGE',
  INDEX_NOT_INTEGER: 'E_INDEX_NOT_INTEGER',
  UNKNOWN_TABLE: 'E_UNKNOWN_TABLE',
  BAD_GRADIENT: 'E_BAD_GRADIENT',
  BAD_SHAPE: 'E_BAD_SHAPE',
  FROZEN_TABLE: 'E_FROZEN_TABLE',
  UNSUPPORTED: 'E_UNSUPPORTED',
  BAD_REQUEST: 'E_BAD_REQUEST',
  /** A peer's reply that does not match the protocol (a client's view of a faulty server). */
  BAD_REPLY: 'E_BAD_REPLY',
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  /** An authenticated connection whose role may not send this message (a trainer sending `restore`). */
  FORBIDDEN: 'E_FORBIDDEN',
  STALE_EPOCH: 'E_STALE_EPOCH',
  /**
   * BSP: a pull this shard cannot answer in step with the run. Either the step is already
   * applied here, so the rows it asks for (before that step) are gone: a replacement trainer
   * resumed at a step its predecessor had pushed to the shards but not reported to the
   * coordinator. Or the rank's push of the step before never arrived, so that step cannot
   * complete: a replacement resumed past a push its predecessor lost (the coordinator had its
   * dense step). Only the last checkpoint goes on from either.
   */
  STALE_STEP: 'E_STALE_STEP',
  TIMEOUT: 'E_TIMEOUT',
  CONNECTION_CLOSED: 'E_CONNECTION_CLOSED',
  SHARD_UNAVAILABLE: 'E_SHARD_UNAVAILABLE',
  PAUSED: 'E_PAUSED',
  OVERLOADED: 'E_OVERLOADED',
  /** A request over the per-request limits (rows, bytes of row data); the sender splits it. */
  TOO_LARGE: 'E_TOO_LARGE',
  WRONG_SHARD: 'E_WRONG_SHARD',
  BAD_CHECKPOINT: 'E_BAD_CHECKPOINT',
  /** A checkpoint file could not be written (a full or read-only disk, permissions). */
  CHECKPOINT_WRITE: 'E_CHECKPOINT_WRITE',
  /**
   * The coordinator and a parameter server do not see the same checkpoint directory (each
   * container its own volume, a PS without a checkpoint root): the job stops at start.
   */
  STORAGE_NOT_SHARED: 'E_STORAGE_NOT_SHARED',
  /**
   * A trainer claimed ranks another trainer holds (it lost the coordinator for a while and a
   * replacement took them): it stops, its ranks run elsewhere.
   */
  RANK_TAKEN: 'E_RANK_TAKEN',
  INTERNAL: 'E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export type ErrorDetails = Record<string, string | number | boolean | null | undefined>;

export class RowshardError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'RowshardError';
    this.code = code;
    this.details = details;
  }

  /** The plain-object form that crosses the wire and process boundaries. */
  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(value: unknown): RowshardError {
    if (value && typeof value === 'object' && 'code' in value && 'message' in value) {
      const v = value as { code: unknown; message: unknown; details?: unknown };
      const code = isErrorCode(v.code) ? v.code : ErrorCodes.INTERNAL;
      const details = v.details && typeof v.details === 'object' ? (v.details as ErrorDetails) : {};
      return new RowshardError(code, String(v.message), details);
    }
    return new RowshardError(ErrorCodes.INTERNAL, `malformed error value: ${String(value)}`);
  }
}

const knownCodes = new Set<string>(Object.values(ErrorCodes));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && knownCodes.has(value);
}

/** A configuration error that names the field (dotted path) and, when known, the file. */
export function configError(field: string, message: string, file?: string): RowshardError {
  const where = file ? `${file}: ` : '';
  return new RowshardError(ErrorCodes.BAD_CONFIG, `${where}${field}: ${message}`, { field, file });
}

/**
 * The exit code of a role process that failed with an error a restart would only repeat: a
 * bug in a model (a shape mismatch), data it cannot read, a refused configuration. A
 * launcher or supervisor does not restart it; the job fails at once with its message.
 */
export const EXIT_NOT_RETRYABLE = 3;

const transientCodes = new Set<string>([
  ErrorCodes.CONNECTION_CLOSED,
  ErrorCodes.PAUSED,
  ErrorCodes.STALE_EPOCH,
  ErrorCodes.STALE_STEP,
  ErrorCodes.SHARD_UNAVAILABLE,
  ErrorCodes.TIMEOUT,
  ErrorCodes.WRONG_SHARD,
]);
const transientSystemCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * Whether an error may pass if the process is restarted or reconnects: a lost connection, a
 * timeout, a paused or restored cluster. Anything else (a model's exception, bad data, a
 * refused request) is deterministic: the same inputs fail the same way.
 */
export function isTransientError(e: unknown): boolean {
  if (e instanceof RowshardError) return transientCodes.has(e.code);
  const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
  return transientSystemCodes.has(code);
}
