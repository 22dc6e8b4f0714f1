import { type ErrorCode, ErrorCodes, RowshardError } from '../errors.js';
import { describe as describeValue } from '../validate.js';

/**
 * Schemas for wire messages: each message is declared once as a schema, and both its
 * TypeScript type (`Infer<typeof schema>`) and its decoder come from that declaration, so
 * the type a handler sees and the checks a frame passes cannot drift apart (tRPC's idea,
 * without a dependency). A decoder checks a decoded frame whole, before anything is applied,
 * and a failure names the message and the field: `push: tables[1].step must be an integer
 * >= 1, got NaN`.
 */
export interface DecodeContext {
  /** The message being decoded ("push", "reply to pull"), for error messages. */
  readonly message: string;
  /** E_BAD_REQUEST for requests a server receives, E_BAD_REPLY for replies a client receives. */
  readonly code: ErrorCode;
}

export interface Schema<T, Optional extends boolean = false> {
  /** How a valid value is described in an error ("a safe non-negative integer"). */
  readonly expected: string;
  /** True for fields that may be absent from an object. */
  readonly optional: Optional;
  decode(value: unknown, path: string, ctx: DecodeContext): T;
}

export type Infer<S> = S extends Schema<infer T, boolean> ? T : never;

/** The error for a field that fails its schema. */
export function fieldError(ctx: DecodeContext, path: string, why: string): RowshardError {
  return new RowshardError(ctx.code, `${ctx.message}: ${path} ${why}`, { message: ctx.message, field: path });
}

function leaf<T>(expected: string, accept: (v: unknown) => boolean): Schema<T> {
  return {
    expected,
    optional: false,
    decode(value, path, ctx) {
      if (!accept(value)) throw fieldError(ctx, path, `must be ${expected}, got ${describeValue(value)}`);
      return value as T;
    },
  };
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Steps, ranks, epochs, clocks, shards, counts: a safe non-negative integer. */
export const uint = leaf<number>('a safe non-negative integer', isUint);
export const positiveInt = leaf<number>('a safe integer >= 1', (v) => isUint(v) && v >= 1);
/** Any number, NaN included (a diverged loss is data, not a protocol fault). */
export const anyNumber = leaf<number>('a number', (v) => typeof v === 'number');
export const finite = leaf<number>('a finite number', (v) => typeof v === 'number' && Number.isFinite(v));
export const nonNegativeFinite = leaf<number>(
  'a finite number >= 0',
  (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
);
export const text = leaf<string>('a string', (v) => typeof v === 'string');
export const nonEmptyText = leaf<string>('a non-empty string', (v) => typeof v === 'string' && v.length > 0);
export const bool = leaf<boolean>('true or false', (v) => typeof v === 'boolean');
export const float32Array = leaf<Float32Array>('a Float32Array', (v) => v instanceof Float32Array);
export const int32Array = leaf<Int32Array>('an Int32Array', (v) => v instanceof Int32Array);

/** Row ids: Int32Array or Uint32Array (dense tables; Float64Array is checked for integrality), BigUint64Array (hashed). */
export type IdArray = Int32Array | Uint32Array | Float64Array | BigUint64Array;

export function isIdArray(value: unknown): value is IdArray {
  return (
    value instanceof Int32Array ||
    value instanceof Uint32Array ||
    value instanceof Float64Array ||
    value instanceof BigUint64Array
  );
}

export const idArray = leaf<IdArray>('a typed array (Int32Array, Uint32Array, Float64Array or BigUint64Array)', isIdArray);

export function optional<T>(schema: Schema<T, boolean>): Schema<T | undefined, true> {
  return {
    expected: schema.expected,
    optional: true,
    decode: (value, path, ctx) => (value === undefined ? undefined : schema.decode(value, path, ctx)),
  };
}

export function nullable<T>(schema: Schema<T, boolean>): Schema<T | null> {
  return {
    expected: `${schema.expected} or null`,
    optional: false,
    decode: (value, path, ctx) => (value === null ? null : schema.decode(value, path, ctx)),
  };
}

export function list<T>(item: Schema<T, boolean>): Schema<T[]> {
  return {
    expected: `a list of ${item.expected}`,
    optional: false,
    decode(value, path, ctx) {
      if (!Array.isArray(value)) throw fieldError(ctx, path, `must be a list, got ${describeValue(value)}`);
      const out = new Array<T>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = item.decode(value[i], `${path}[${i}]`, ctx);
      return out;
    },
  };
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** A map from names to values of one schema (dense parameters by name, counts by code). */
export function record<T>(item: Schema<T, boolean>): Schema<Record<string, T>> {
  return {
    expected: `a map of ${item.expected}`,
    optional: false,
    decode(value, path, ctx) {
      if (!isPlainMap(value)) throw fieldError(ctx, path, `must be a map, got ${describeValue(value)}`);
      const out: Record<string, T> = {};
      for (const key of Object.keys(value)) {
        if (key === '__proto__') throw fieldError(ctx, `${path}.${key}`, 'is not an allowed name');
        out[key] = item.decode(value[key], `${path}.${key}`, ctx);
      }
      return out;
    },
  };
}

type Shape = Readonly<Record<string, Schema<unknown, boolean>>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Schema<unknown, true> ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Simplify<
  { readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { readonly [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

export interface ObjectSchema<S extends Shape> extends Schema<ObjectOf<S>> {
  readonly shape: S;
  /** Decodes a frame's body: the envelope's own keys (v, type, id) are not fields of the message. */
  decodeBody(frame: Record<string, unknown>, ctx: DecodeContext): ObjectOf<S>;
}

const ENVELOPE_KEYS: ReadonlySet<string> = new Set(['v', 'type', 'id']);

/** A map with exactly these fields: a missing required field or an unknown one is refused. */
export function object<S extends Shape>(shape: S): ObjectSchema<S> {
  const keys = Object.keys(shape);
  const decodeWith = (value: unknown, path: string, ctx: DecodeContext, skip: ReadonlySet<string> | null) => {
    if (!isPlainMap(value)) throw fieldError(ctx, path || '(message)', `must be a map, got ${describeValue(value)}`);
    const at = (k: string) => (path ? `${path}.${k}` : k);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(shape, key) && !skip?.has(key)) {
        throw fieldError(ctx, at(key), `is not a field of this message (fields: ${keys.join(', ') || 'none'})`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const schema = shape[key];
      const v = value[key];
      if (v === undefined) {
        if (!schema.optional) throw fieldError(ctx, at(key), `is required (${schema.expected})`);
        continue;
      }
      out[key] = schema.decode(v, at(key), ctx);
    }
    return out as ObjectOf<S>;
  };
  return {
    shape,
    expected: `a map with fields ${keys.join(', ')}`,
    optional: false,
    decode: (value, path, ctx) => decodeWith(value, path, ctx, null),
    decodeBody: (frame, ctx) => decodeWith(frame, '', ctx, ENVELOPE_KEYS),
  };
}

/** A value that must also pass a check across its fields; `check` returns why not, or null. */
export function refine<T>(schema: Schema<T>, check: (value: T) => { field: string; why: string } | null): Schema<T> {
  return {
    expected: schema.expected,
    optional: false,
    decode(value, path, ctx) {
      const out = schema.decode(value, path, ctx);
      const problem = check(out);
      if (problem) throw fieldError(ctx, path ? `${path}.${problem.field}` : problem.field, problem.why);
      return out;
    },
  };
}

/**
 * A field decoded by an existing parser (a PS configuration, a checkpoint manifest): its
 * error keeps the parser's words, prefixed with the message and field.
 */
export function parsedBy<T>(expected: string, parse: (value: unknown) => T): Schema<T> {
  return {
    expected,
    optional: false,
    decode(value, path, ctx) {
      try {
        return parse(value);
      } catch (e) {
        throw fieldError(ctx, path, `is not ${expected}: ${(e as Error).message}`);
      }
    },
  };
}

/** The decode context of a request a server receives, and of a reply a client receives. */
export function requestContext(type: string): DecodeContext {
  return { message: type, code: ErrorCodes.BAD_REQUEST };
}

export function replyContext(type: string): DecodeContext {
  return { message: `reply to ${type}`, code: ErrorCodes.BAD_REPLY };
}
