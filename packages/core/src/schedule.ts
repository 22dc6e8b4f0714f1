import { configError } from './errors.js';
import { jobDefaults } from './job-defaults.js';
import { nonNegativeInt, numberInRange, oneOf, optional, positiveInt, rejectUnknownKeys, requireObject } from './validate.js';

/**
 * Learning-rate schedules, as multipliers of a group's base lr, indexed by the 0-based
 * optimizer step. `step` is torch.optim.lr_scheduler.StepLR; the warmup schedules are
 * transformers' get_linear_schedule_with_warmup / get_cosine_schedule_with_warmup
 * (factor step/warmupSteps during warmup, so the very first step runs at lr 0 when
 * warmupSteps > 0), with an optional floor `minLrRatio`.
 */
export type LrSchedule =
  | { kind: 'constant' }
  | { kind: 'step'; stepSize: number; gamma: number }
  | { kind: 'warmup_linear' | 'warmup_cosine'; warmupSteps: number; totalSteps: number; minLrRatio: number };

export const constantSchedule: Readonly<LrSchedule> = Object.freeze({ kind: 'constant' });

/** `jobSteps`: the job's steps, which a warmup schedule's `totalSteps` defaults to (null: it must be given). */
export function parseLrSchedule(value: unknown, field = 'schedule', jobSteps: number | null = null): LrSchedule {
  const d = jobDefaults.optimizers.schedule;
  if (value === undefined || value === null) return { kind: d.kind };
  const obj = requireObject(value, field);
  const kind = oneOf(obj.kind, `${field}.kind`, ['constant', 'step', 'warmup_linear', 'warmup_cosine'] as const);
  switch (kind) {
    case 'constant':
      rejectUnknownKeys(obj, ['kind'], field);
      return { kind };
    case 'step':
      rejectUnknownKeys(obj, ['kind', 'stepSize', 'gamma'], field);
      return {
        kind,
        stepSize: positiveInt(obj.stepSize, `${field}.stepSize`),
        gamma: optional(obj.gamma, d.gamma, (v) => numberInRange(v, `${field}.gamma`, 0, Number.MAX_VALUE)),
      };
    case 'warmup_linear':
    case 'warmup_cosine': {
      rejectUnknownKeys(obj, ['kind', 'warmupSteps', 'totalSteps', 'minLrRatio'], field);
      const warmupSteps = optional(obj.warmupSteps, d.warmupSteps, (v) => nonNegativeInt(v, `${field}.warmupSteps`));
      const totalSteps =
        obj.totalSteps === undefined && jobSteps !== null ? jobSteps : positiveInt(obj.totalSteps, `${field}.totalSteps`);
      if (warmupSteps > totalSteps) {
        throw configError(`${field}.warmupSteps`, `must be <= totalSteps (${totalSteps}), got ${warmupSteps}`);
      }
      const minLrRatio = optional(obj.minLrRatio, d.minLrRatio, (v) => numberInRange(v, `${field}.minLrRatio`, 0, 1));
      return { kind, warmupSteps, totalSteps, minLrRatio };
    }
  }
}

/** The multiplier of the base lr at 0-based optimizer step `step`. */
export function lrFactorAt(schedule: LrSchedule, step: number): number {
  switch (schedule.kind) {
    case 'constant':
      return 1;
    case 'step':
      return schedule.gamma ** Math.floor(step / schedule.stepSize);
    case 'warmup_linear':
    case 'warmup_cosine': {
      const { warmupSteps, totalSteps, minLrRatio } = schedule;
      if (step < warmupSteps) return step / Math.max(1, warmupSteps);
      const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
      const decay = schedule.kind === 'warmup_linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
      return minLrRatio + (1 - minLrRatio) * decay;
    }
  }
}

export function lrAt(baseLr: number, schedule: LrSchedule, step: number): number {
  return baseLr * lrFactorAt(schedule, step);
}
