import { type DataSpec, parseDataSpec } from './data-spec.js';
import { jobDefaults } from './job-defaults.js';
import { optional, positiveInt, rejectUnknownKeys, requireObject } from './validate.js';

export interface EvalConfig {
  readonly data: DataSpec;
  /** Evaluate after every n steps (null: only at the end). */
  readonly everySteps: number | null;
  /** Batches of the eval data per evaluation during training (a sample, labelled so). */
  readonly batches: number;
  readonly batchSize: number;
  /**
   * Batches of the evaluation after the last step; null: the whole eval set (file data), or
   * `batches` for generated data, which has no end.
   */
  readonly finalBatches: number | null;
}

export function parseEvalConfig(value: unknown, field: string): EvalConfig | null {
  if (value === undefined || value === null) return null;
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, ['data', 'everySteps', 'batches', 'batchSize', 'finalBatches'], field);
  const d = jobDefaults.eval;
  return {
    data: parseDataSpec(obj.data, `${field}.data`),
    everySteps: optional(obj.everySteps, d.everySteps, (v) => positiveInt(v, `${field}.everySteps`)),
    batches: optional(obj.batches, d.batches, (v) => positiveInt(v, `${field}.batches`)),
    batchSize: optional(obj.batchSize, d.batchSize, (v) => positiveInt(v, `${field}.batchSize`)),
    finalBatches: optional(obj.finalBatches, d.finalBatches, (v) => positiveInt(v, `${field}.finalBatches`)),
  };
}
