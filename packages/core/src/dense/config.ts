import { configError } from '../errors.js';
import { type AdagradConfig, normalizeKeys, normalizeKindName, parseBetas } from '../sparse/config.js';
import { booleanField, numberInRange, oneOf, optional, rejectUnknownKeys, requireObject } from '../validate.js';

/** Optimizers for dense parameters (Linear layers), with torch.optim's names and defaults. */
export type DenseOptimizerConfig =
  | { kind: 'sgd'; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }
  | {
      kind: 'adam' | 'adamw';
      lr: number;
      betas: [number, number];
      eps: number;
      weightDecay: number;
      amsgrad: boolean;
    }
  | AdagradConfig;

export const denseOptimizerKinds = ['sgd', 'adam', 'adamw', 'adagrad'] as const;

/** PyTorch flags that are accepted when at their default and refused otherwise. */
const inertDefaults: Record<string, unknown> = {
  maximize: false,
  differentiable: false,
  foreach: null,
  capturable: false,
  fused: null,
};

export function parseDenseOptimizerConfig(value: unknown, field = 'optimizer'): DenseOptimizerConfig {
  const raw = normalizeKeys(requireObject(value, field), field);
  const kind = oneOf(normalizeKindName(raw.kind), `${field}.kind`, denseOptimizerKinds);
  const obj: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(raw)) {
    if (key in inertDefaults) {
      if (v !== inertDefaults[key] && v !== undefined && v !== null) {
        throw configError(`${field}.${key}`, `${JSON.stringify(v)} is not supported`);
      }
      continue;
    }
    obj[key] = v;
  }
  const nonNeg = (key: string, fallback: number) =>
    optional(obj[key], fallback, (v) => numberInRange(v, `${field}.${key}`, 0, Number.MAX_VALUE));
  switch (kind) {
    case 'sgd': {
      rejectUnknownKeys(obj, ['kind', 'lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'], field);
      if (obj.lr === undefined) throw configError(`${field}.lr`, 'is required for SGD (torch.optim.SGD has no default)');
      const cfg = {
        kind,
        lr: nonNeg('lr', 0),
        momentum: nonNeg('momentum', 0),
        dampening: nonNeg('dampening', 0),
        weightDecay: nonNeg('weightDecay', 0),
        nesterov: optional(obj.nesterov, false, (v) => booleanField(v, `${field}.nesterov`)),
      };
      if (cfg.nesterov && (cfg.momentum <= 0 || cfg.dampening !== 0)) {
        throw configError(`${field}.nesterov`, 'requires momentum > 0 and dampening 0 (as torch.optim.SGD)');
      }
      return cfg;
    }
    case 'adam':
    case 'adamw':
      rejectUnknownKeys(obj, ['kind', 'lr', 'betas', 'eps', 'weightDecay', 'amsgrad'], field);
      return {
        kind,
        lr: nonNeg('lr', 1e-3),
        betas: parseBetas(obj.betas, `${field}.betas`),
        eps: nonNeg('eps', 1e-8),
        weightDecay: nonNeg('weightDecay', kind === 'adamw' ? 1e-2 : 0),
        amsgrad: optional(obj.amsgrad, false, (v) => booleanField(v, `${field}.amsgrad`)),
      };
    case 'adagrad':
      rejectUnknownKeys(obj, ['kind', 'lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'], field);
      return {
        kind,
        lr: nonNeg('lr', 0.01),
        lrDecay: nonNeg('lrDecay', 0),
        weightDecay: nonNeg('weightDecay', 0),
        initialAccumulatorValue: nonNeg('initialAccumulatorValue', 0),
        eps: nonNeg('eps', 1e-10),
      };
  }
}
