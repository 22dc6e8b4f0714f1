import { configError } from './errors.js';
import { jobDefaults } from './job-defaults.js';
import { optional, positiveInt, rejectUnknownKeys, requireObject, stringField } from './validate.js';

export interface CheckpointConfig {
  readonly dir: string;
  /** Take one every n steps (null: not by steps). */
  readonly everySteps: number | null;
  /** Take one at the first step boundary after n seconds (null: not by time). */
  readonly everySeconds: number | null;
  /** How many to keep. */
  readonly keep: number;
  /**
   * On start: 'auto' (the newest checkpoint if this same job wrote it; a checkpoint of a changed
   * job is refused), 'latest' (the newest, whatever settings changed), 'none' (start fresh), or a
   * checkpoint directory name such as step-00000050 (that one, which must exist).
   */
  readonly resume: string;
}

const resumeModes = ['auto', 'latest', 'none'];

export function parseCheckpointConfig(value: unknown, field: string): CheckpointConfig | null {
  if (value === undefined || value === null) return null;
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, ['dir', 'everySteps', 'everySeconds', 'keep', 'resume'], field);
  const d = jobDefaults.checkpoint;
  const resume = optional(obj.resume, d.resume, (v) => stringField(v, `${field}.resume`));
  if (!resumeModes.includes(resume) && !/^step-\d{8}$/.test(resume)) {
    throw configError(
      `${field}.resume`,
      `must be auto, latest, none or a checkpoint name like step-00000050, got ${JSON.stringify(resume)}`,
    );
  }
  return {
    dir: stringField(obj.dir, `${field}.dir`),
    everySteps: optional(obj.everySteps, d.everySteps, (v) => positiveInt(v, `${field}.everySteps`)),
    everySeconds: optional(obj.everySeconds, d.everySeconds, (v) => positiveInt(v, `${field}.everySeconds`)),
    keep: optional(obj.keep, d.keep, (v) => positiveInt(v, `${field}.keep`)),
    resume,
  };
}
