import { configError } from './errors.js';
import { finiteNumber, oneOf, optional, rejectUnknownKeys, requireObject } from './validate.js';

/** How a row's initial values are drawn. PyTorch's nn.Embedding default is normal(0, 1). */
export type InitSpec =
  | { kind: 'normal'; mean: number; std: number }
  | { kind: 'uniform'; a: number; b: number }
  | { kind: 'zeros' }
  | { kind: 'constant'; value: number };

export const defaultInit: Readonly<InitSpec> = Object.freeze({ kind: 'normal', mean: 0, std: 1 });

export function parseInitSpec(value: unknown, field: string): InitSpec {
  if (value === undefined || value === null) return { ...defaultInit };
  const obj = requireObject(value, field);
  const kind = oneOf(obj.kind, `${field}.kind`, ['normal', 'uniform', 'zeros', 'constant'] as const);
  switch (kind) {
    case 'normal': {
      rejectUnknownKeys(obj, ['kind', 'mean', 'std'], field);
      const mean = optional(obj.mean, 0, (v) => finiteNumber(v, `${field}.mean`));
      const std = optional(obj.std, 1, (v) => finiteNumber(v, `${field}.std`));
      if (std < 0) throw configError(`${field}.std`, `must be >= 0, got ${std}`);
      return { kind, mean, std };
    }
    case 'uniform': {
      rejectUnknownKeys(obj, ['kind', 'a', 'b'], field);
      const a = optional(obj.a, 0, (v) => finiteNumber(v, `${field}.a`));
      const b = optional(obj.b, 1, (v) => finiteNumber(v, `${field}.b`));
      if (!(a <= b)) throw configError(`${field}.b`, `must be >= a (${a}), got ${b}`);
      return { kind, a, b };
    }
    case 'zeros':
      rejectUnknownKeys(obj, ['kind'], field);
      return { kind };
    case 'constant': {
      rejectUnknownKeys(obj, ['kind', 'value'], field);
      return { kind, value: finiteNumber(obj.value, `${field}.value`) };
    }
  }
}
