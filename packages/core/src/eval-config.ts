import { type DataSpec, parseDataSpec } from './data-spec.js';
import { optional, positiveInt, rejectUnknownKeys, requireObject } from './validate.js';

export interface EvalConfig {
  readonly data: DataSpec;
  /** Evaluate after every n steps (null: only at the end). */
  readonly everySteps: number | null;
  /** Batches of the eval data per evaluation. */
  readonly batches: number;
  readonly batchSize: number;
}

export function parseEvalConfig(value: unknown, field: string): EvalConfig | null {
  if (value === undefined || value === null) return null;
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, ['data', 'everySteps', 'batches', 'batchSize'], field);
  return {
    data: parseDataSpec(obj.data, `${field}.data`),
    everySteps: optional(obj.everySteps, null as number | null, (v) => positiveInt(v, `${field}.everySteps`)),
    batches: optional(obj.batches, 4, (v) => positiveInt(v, `${field}.batches`)),
    batchSize: optional(obj.batchSize, 256, (v) => positiveInt(v, `${field}.batchSize`)),
  };
}
