import { configError } from './errors.js';
import { jobDefaults } from './job-defaults.js';
import { nonNegativeInt, optional, rejectUnknownKeys, requireObject, stringField } from './validate.js';

/**
 * When tables are frozen: "freeze early, fine-tune later" is `{table, fromStep: 0,
 * untilStep: 500}`. A table is frozen at step t if its spec says frozen and no window
 * unfreezes it, or if any window [fromStep, untilStep) covers t. Pure functions of the step,
 * so every process agrees without asking.
 */
export interface FreezeWindow {
  readonly table: string;
  readonly fromStep: number;
  /** Exclusive; absent means until the end. */
  readonly untilStep: number | null;
}

export function parseFreezePlan(value: unknown, tables: readonly string[], field = 'freeze'): FreezeWindow[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw configError(field, 'must be a list of {table, fromStep, untilStep}');
  const windows = value.map((raw, i): FreezeWindow => {
    const obj = requireObject(raw, `${field}[${i}]`);
    rejectUnknownKeys(obj, ['table', 'fromStep', 'untilStep'], `${field}[${i}]`);
    const table = stringField(obj.table, `${field}[${i}].table`);
    if (!tables.includes(table))
      throw configError(`${field}[${i}].table`, `unknown table '${table}' (tables: ${tables.join(', ')})`);
    const fromStep = optional(obj.fromStep, jobDefaults.freeze.fromStep, (v) => nonNegativeInt(v, `${field}[${i}].fromStep`));
    const untilStep = optional(obj.untilStep, jobDefaults.freeze.untilStep, (v) => nonNegativeInt(v, `${field}[${i}].untilStep`));
    if (untilStep !== null && untilStep <= fromStep) {
      throw configError(`${field}[${i}].untilStep`, `must be > fromStep (${fromStep}), got ${untilStep}`);
    }
    return { table, fromStep, untilStep };
  });
  for (let i = 0; i < windows.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = windows[i];
      const b = windows[j];
      const overlap = a.table === b.table && a.fromStep < (b.untilStep ?? Infinity) && b.fromStep < (a.untilStep ?? Infinity);
      if (overlap) throw configError(`${field}[${i}]`, `overlaps ${field}[${j}] for table '${a.table}'`);
    }
  }
  return windows;
}

export function isFrozenAt(plan: readonly FreezeWindow[], table: string, frozenBySpec: boolean, step: number): boolean {
  if (frozenBySpec) return true;
  return plan.some((w) => w.table === table && step >= w.fromStep && (w.untilStep === null || step < w.untilStep));
}

/**
 * The 1-based optimizer step count a table has reached when it trains at step t: the number
 * of steps in [0, t] at which it was not frozen (what PyTorch's per-parameter `step` counts).
 */
export function tableStepAt(plan: readonly FreezeWindow[], table: string, frozenBySpec: boolean, step: number): number {
  if (frozenBySpec) return 0;
  let frozen = 0;
  for (const w of plan) {
    if (w.table !== table) continue;
    const end = Math.min(step + 1, w.untilStep ?? Number.POSITIVE_INFINITY);
    if (end > w.fromStep) frozen += end - w.fromStep;
  }
  return step + 1 - Math.min(step + 1, frozen);
}
