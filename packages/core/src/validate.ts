import { configError } from './errors.js';

/**
 * Small validators for options objects. Each names the dotted field path so a bad value in
 * a config file, a flag or a wire frame is reported as `tables.words.embeddingDim: must be
 * a positive integer, got 0` rather than a stack trace from deep inside a kernel.
 */
export function requireObject(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw configError(field, `must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function rejectUnknownKeys(obj: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const path = field ? `${field}.${key}` : key;
      throw configError(path, `unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
}

export function positiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw configError(field, `must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

export function nonNegativeInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw configError(field, `must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

export function finiteNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw configError(field, `must be a finite number, got ${describe(value)}`);
  }
  return value;
}

export function numberInRange(
  value: unknown,
  field: string,
  min: number,
  max: number,
  { minExclusive = false, maxExclusive = false } = {},
): number {
  const v = finiteNumber(value, field);
  const lowOk = minExclusive ? v > min : v >= min;
  const highOk = maxExclusive ? v < max : v <= max;
  if (!lowOk || !highOk) {
    const lo = minExclusive ? '(' : '[';
    const hi = maxExclusive ? ')' : ']';
    throw configError(field, `must be in ${lo}${min}, ${max}${hi}, got ${v}`);
  }
  return v;
}

export function booleanField(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw configError(field, `must be true or false, got ${describe(value)}`);
  return value;
}

export function stringField(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw configError(field, `must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

export function oneOf<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw configError(field, `must be one of ${choices.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** Reads an optional field: undefined (or null) gives the default, anything else is checked. */
export function optional<T>(value: unknown, fallback: T, check: (v: unknown) => T): T {
  return value === undefined || value === null ? fallback : check(value);
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}
