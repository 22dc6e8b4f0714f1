import { configError } from '../errors.js';
import { numberInRange, oneOf, optional, rejectUnknownKeys, requireObject } from '../validate.js';

/** torch.optim.Adagrad's settings, the same for a table (sparse) and a dense parameter. */
export interface AdagradConfig {
  readonly kind: 'adagrad';
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
}

/**
 * Sparse optimizers run on the parameter server next to the rows they update. Names and
 * defaults are torch.optim's; config files may use PyTorch's snake_case spellings
 * (`lr_decay`, `initial_accumulator_value`, `weight_decay`) as well as camelCase.
 */
export type SparseOptimizerConfig =
  | { kind: 'sgd'; lr: number; weightDecay: number }
  | AdagradConfig
  | { kind: 'sparse_adam'; lr: number; betas: [number, number]; eps: number }
  | {
      kind: 'rowwise_adagrad';
      lr: number;
      weightDecay: number;
      initialAccumulatorValue: number;
      eps: number;
    };

export type SparseOptimizerKind = SparseOptimizerConfig['kind'];
export const sparseOptimizerKinds = ['sgd', 'adagrad', 'sparse_adam', 'rowwise_adagrad'] as const;

const aliases: Record<string, string> = {
  lr_decay: 'lrDecay',
  weight_decay: 'weightDecay',
  initial_accumulator_value: 'initialAccumulatorValue',
  type: 'kind',
};

/** Maps PyTorch's snake_case names to ours, refusing a key given both ways. */
export function normalizeKeys(obj: Record<string, unknown>, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const name = aliases[key] ?? key;
    if (name in out) throw configError(`${field}.${key}`, `given twice (as ${name} and ${key})`);
    out[name] = value;
  }
  return out;
}

/** torch.optim class names and other spellings users write, to our kind names. */
const kindSpellings: Record<string, string> = {
  sparseadam: 'sparse_adam',
  adamw: 'adamw',
  rowwiseadagrad: 'rowwise_adagrad',
};

/** Accepts 'SparseAdam', 'sparse_adam', 'sparse-adam', 'AdamW', 'Adagrad', 'SGD'... */
export function normalizeKindName(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const flat = value.replace(/-/g, '_').toLowerCase();
  return kindSpellings[flat.replace(/_/g, '')] ?? flat;
}

/** Hyperparameters PyTorch reports that have no effect here when left at their defaults. */
const inertDefaults: Record<string, unknown> = {
  maximize: false,
  differentiable: false,
  foreach: null,
  capturable: false,
  momentum: 0,
  dampening: 0,
  nesterov: false,
};

function dropInertDefaults(obj: Record<string, unknown>, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key in inertDefaults) {
      if (value !== inertDefaults[key] && !(value === undefined || (value === null && inertDefaults[key] === null))) {
        throw configError(
          `${field}.${key}`,
          `${JSON.stringify(value)} is not supported for sparse gradients (PyTorch's sparse path has no ${key} either)`,
        );
      }
      continue;
    }
    out[key] = value;
  }
  return out;
}

export function parseSparseOptimizerConfig(value: unknown, field = 'optimizer'): SparseOptimizerConfig {
  const raw = normalizeKeys(requireObject(value, field), field);
  const kind = oneOf(normalizeKindName(raw.kind), `${field}.kind`, sparseOptimizerKinds);
  const obj = dropInertDefaults(raw, field);
  const lr = (fallback: number) => optional(obj.lr, fallback, (v) => numberInRange(v, `${field}.lr`, 0, Number.MAX_VALUE));
  const weightDecay = () => optional(obj.weightDecay, 0, (v) => numberInRange(v, `${field}.weightDecay`, 0, Number.MAX_VALUE));
  const eps = (fallback: number) => optional(obj.eps, fallback, (v) => numberInRange(v, `${field}.eps`, 0, Number.MAX_VALUE));
  switch (kind) {
    case 'sgd':
      rejectUnknownKeys(obj, ['kind', 'lr', 'weightDecay'], field);
      if (obj.lr === undefined) throw configError(`${field}.lr`, 'is required for SGD (torch.optim.SGD has no default)');
      return { kind, lr: lr(0), weightDecay: weightDecay() };
    case 'adagrad':
      rejectUnknownKeys(obj, ['kind', 'lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'], field);
      return {
        kind,
        lr: lr(0.01),
        lrDecay: optional(obj.lrDecay, 0, (v) => numberInRange(v, `${field}.lrDecay`, 0, Number.MAX_VALUE)),
        weightDecay: weightDecay(),
        initialAccumulatorValue: optional(obj.initialAccumulatorValue, 0, (v) =>
          numberInRange(v, `${field}.initialAccumulatorValue`, 0, Number.MAX_VALUE),
        ),
        eps: eps(1e-10),
      };
    case 'sparse_adam':
      rejectUnknownKeys(obj, ['kind', 'lr', 'betas', 'eps'], field);
      return { kind, lr: lr(1e-3), betas: parseBetas(obj.betas, `${field}.betas`), eps: eps(1e-8) };
    case 'rowwise_adagrad':
      rejectUnknownKeys(obj, ['kind', 'lr', 'weightDecay', 'initialAccumulatorValue', 'eps'], field);
      return {
        kind,
        lr: lr(0.01),
        weightDecay: weightDecay(),
        initialAccumulatorValue: optional(obj.initialAccumulatorValue, 0, (v) =>
          numberInRange(v, `${field}.initialAccumulatorValue`, 0, Number.MAX_VALUE),
        ),
        eps: eps(1e-10),
      };
  }
}

export function parseBetas(value: unknown, field: string): [number, number] {
  if (value === undefined || value === null) return [0.9, 0.999];
  if (!Array.isArray(value) || value.length !== 2) {
    throw configError(field, 'must be a pair [beta1, beta2]');
  }
  return [
    numberInRange(value[0], `${field}[0]`, 0, 1, { maxExclusive: true }),
    numberInRange(value[1], `${field}[1]`, 0, 1, { maxExclusive: true }),
  ];
}
