import { type AdmissionSpec, type EvictionSpec, parseAdmissionSpec, parseEvictionSpec } from './dynamic-rows.js';
import { configError } from './errors.js';
import { defaultInit, type InitSpec, parseInitSpec } from './init-spec.js';
import {
  booleanField,
  finiteNumber,
  oneOf,
  optional,
  positiveInt,
  rejectUnknownKeys,
  requireObject,
  stringField,
} from './validate.js';

/**
 * One embedding table, with nn.Embedding's names and defaults.
 *
 * `kind: 'dense'` tables hold ids in [0, numEmbeddings); rows map to storage by arithmetic.
 * `kind: 'hashed'` tables take arbitrary unsigned 64-bit ids (raw user ids, feature hashes);
 * `numEmbeddings` is then a capacity hint, not a bound.
 */
export interface TableSpec {
  readonly name: string;
  readonly kind: 'dense' | 'hashed';
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** Already normalised to [0, numEmbeddings): PyTorch accepts a negative padding_idx. */
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  readonly scaleGradByFreq: boolean;
  readonly init: InitSpec;
  /** Name of the optimizer group whose settings (and learning rate) apply to this table. */
  readonly group: string;
  readonly frozen: boolean;
  readonly dtype: 'f32';
  /** Hashed tables: which ids get a row (null: every id looked up); see dynamic-rows.ts. */
  readonly admission: AdmissionSpec | null;
  /** Hashed tables: when rows are evicted (null: never). */
  readonly eviction: EvictionSpec | null;
}

export type TableSpecInput = Partial<Omit<TableSpec, 'name' | 'numEmbeddings' | 'embeddingDim' | 'admission' | 'eviction'>> & {
  admission?: unknown;
  eviction?: unknown;
  name: string;
  numEmbeddings: number;
  embeddingDim: number;
};

export const tableSpecFields = [
  'name',
  'kind',
  'numEmbeddings',
  'embeddingDim',
  'paddingIdx',
  'maxNorm',
  'normType',
  'scaleGradByFreq',
  'init',
  'group',
  'frozen',
  'dtype',
  'admission',
  'eviction',
] as const;

/** Validates a table spec from any source (code, config file, wire) and fills defaults. */
export function parseTableSpec(value: unknown, field = 'table'): TableSpec {
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, tableSpecFields, field);
  const name = stringField(obj.name, `${field}.name`);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw configError(`${field}.name`, `may hold only letters, digits, '_', '.', '-', got ${JSON.stringify(name)}`);
  }
  const kind = optional(obj.kind, 'dense' as const, (v) => oneOf(v, `${field}.kind`, ['dense', 'hashed'] as const));
  const numEmbeddings = positiveInt(obj.numEmbeddings, `${field}.numEmbeddings`);
  if (kind === 'dense' && numEmbeddings > 0xffffffff) {
    throw configError(`${field}.numEmbeddings`, `a dense table holds at most 2^32-1 rows; use kind: 'hashed'`);
  }
  const embeddingDim = positiveInt(obj.embeddingDim, `${field}.embeddingDim`);
  let paddingIdx: number | null = null;
  if (obj.paddingIdx !== undefined && obj.paddingIdx !== null) {
    const p = obj.paddingIdx;
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < -numEmbeddings || p >= numEmbeddings) {
      throw configError(
        `${field}.paddingIdx`,
        `must be an integer in [-${numEmbeddings}, ${numEmbeddings}) (PyTorch's rule), got ${String(p)}`,
      );
    }
    paddingIdx = p < 0 ? p + numEmbeddings : p;
  }
  let maxNorm: number | null = null;
  if (obj.maxNorm !== undefined && obj.maxNorm !== null) {
    maxNorm = finiteNumber(obj.maxNorm, `${field}.maxNorm`);
    if (maxNorm <= 0) throw configError(`${field}.maxNorm`, `must be > 0, got ${maxNorm}`);
  }
  const normType = optional(obj.normType, 2, (v) => finiteNumber(v, `${field}.normType`));
  if (normType <= 0) throw configError(`${field}.normType`, `must be > 0, got ${normType}`);
  const scaleGradByFreq = optional(obj.scaleGradByFreq, false, (v) => booleanField(v, `${field}.scaleGradByFreq`));
  const init = obj.init === undefined ? { ...defaultInit } : parseInitSpec(obj.init, `${field}.init`);
  const group = optional(obj.group, 'embeddings', (v) => stringField(v, `${field}.group`));
  const frozen = optional(obj.frozen, false, (v) => booleanField(v, `${field}.frozen`));
  const dtype = optional(obj.dtype, 'f32' as const, (v) => oneOf(v, `${field}.dtype`, ['f32'] as const));
  const admission = parseAdmissionSpec(obj.admission, `${field}.admission`);
  const eviction = parseEvictionSpec(obj.eviction, `${field}.eviction`);
  if (kind !== 'hashed' && (admission || eviction)) {
    throw configError(
      `${field}.${admission ? 'admission' : 'eviction'}`,
      "applies to hashed tables only (kind: 'hashed'); a dense table holds every row of its range",
    );
  }
  return Object.freeze({
    name,
    kind,
    numEmbeddings,
    embeddingDim,
    paddingIdx,
    maxNorm,
    normType,
    scaleGradByFreq,
    init: Object.freeze(init),
    group,
    frozen,
    dtype,
    admission,
    eviction,
  });
}

export function tableSpec(input: TableSpecInput): TableSpec {
  return parseTableSpec(input, `table ${JSON.stringify(input?.name ?? '?')}`);
}
