import { ErrorCodes, RowshardError } from '../errors.js';

/**
 * Requests a parameter server serves. One request per shard per step covers every table:
 * `tables` holds one part per table. Ids are typed arrays: Int32Array or Uint32Array for
 * dense tables (Float64Array is accepted and checked for integrality), BigUint64Array for
 * hashed tables. Gradients are Float32Array [ids.length · dim].
 */
export type IdArray = Int32Array | Uint32Array | Float64Array | BigUint64Array;

export interface PullPart {
  readonly table: string;
  readonly ids: IdArray;
}

export interface PushPart {
  readonly table: string;
  readonly ids: IdArray;
  readonly grads: Float32Array;
  /** The scheduled learning rate for this step, decided by the coordinator. */
  readonly lr: number;
  /** 1-based optimizer step count of this table, this step included (SparseAdam, Adagrad). */
  readonly step: number;
}

export interface PullRequest {
  readonly type: 'pull';
  readonly tables: readonly PullPart[];
}

export interface PushRequest {
  readonly type: 'push';
  readonly tables: readonly PushPart[];
}

export interface PushPullRequest {
  readonly type: 'push_pull';
  readonly push: readonly PushPart[];
  readonly pull: readonly PullPart[];
}

export function isIdArray(value: unknown): value is IdArray {
  return (
    value instanceof Int32Array ||
    value instanceof Uint32Array ||
    value instanceof Float64Array ||
    value instanceof BigUint64Array
  );
}

function bad(message: string, details: Record<string, string | number> = {}): RowshardError {
  return new RowshardError(ErrorCodes.BAD_REQUEST, message, details);
}

function partsOf(value: unknown, field: string): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw bad(`${field} must be a list of table parts`);
  return value.map((p, i) => {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) throw bad(`${field}[${i}] must be a map`);
    const part = p as Record<string, unknown>;
    if (typeof part.table !== 'string') throw bad(`${field}[${i}].table must be a table name`);
    if (!isIdArray(part.ids)) {
      throw bad(`${field}[${i}].ids must be a typed array (Int32Array, Uint32Array, Float64Array or BigUint64Array)`, {
        table: part.table,
      });
    }
    return part;
  });
}

/** Shape checks of a decoded pull part list; range and shard checks need the table. */
export function parsePullParts(value: unknown, field = 'tables'): PullPart[] {
  return partsOf(value, field) as unknown as PullPart[];
}

export function parsePushParts(value: unknown, field = 'tables'): PushPart[] {
  return partsOf(value, field).map((part, i) => {
    if (!(part.grads instanceof Float32Array))
      throw bad(`${field}[${i}].grads must be a Float32Array`, { table: String(part.table) });
    if (typeof part.lr !== 'number' || !Number.isFinite(part.lr) || part.lr < 0) {
      throw bad(`${field}[${i}].lr must be a finite number >= 0, got ${String(part.lr)}`, { table: String(part.table) });
    }
    if (typeof part.step !== 'number' || !Number.isSafeInteger(part.step) || part.step < 1) {
      throw bad(`${field}[${i}].step must be a positive integer, got ${String(part.step)}`, { table: String(part.table) });
    }
    return part as unknown as PushPart;
  });
}
