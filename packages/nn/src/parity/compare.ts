/**
 * The fixtures' rule: a value passes when it is within `tol` absolute or relative, whichever
 * is larger (|a - b| <= max(tol, tol·|b|)). We report the largest absolute difference,
 * which is what a reader compares across implementations.
 */
export interface Comparison {
  maxAbsError: number;
  pass: boolean;
  /** Index of the worst value (for the message of a failing case). */
  worstAt: number;
}

export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): Comparison {
  if (actual.length !== expected.length) return { maxAbsError: Number.POSITIVE_INFINITY, pass: false, worstAt: -1 };
  let maxAbsError = 0;
  let worstAt = -1;
  let pass = true;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= Math.max(tol, tol * Math.abs(expected[i])))) pass = false;
    if (diff > maxAbsError || Number.isNaN(diff)) {
      maxAbsError = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff;
      worstAt = i;
    }
  }
  return { maxAbsError, pass, worstAt };
}

/** Tolerances from the fixture README. */
export const SINGLE_OP_TOLERANCE = 1e-5;
export const TRAJECTORY_TOLERANCE = 1e-4;

export interface CaseResult {
  readonly name: string;
  readonly maxAbsError: number;
  readonly tolerance: number;
  readonly pass: boolean;
  /** Something a reader should know: an estimated hyperparameter, where the worst value is. */
  readonly note?: string;
}

export function caseResult(name: string, cmp: Comparison, tolerance: number, note?: string): CaseResult {
  return { name, maxAbsError: cmp.maxAbsError, tolerance, pass: cmp.pass, ...(note ? { note } : {}) };
}

/** Merges comparisons of several arrays into one (worst error, all must pass). */
export function mergeComparisons(parts: readonly Comparison[]): Comparison {
  return parts.reduce(
    (acc, c) => ({
      maxAbsError: Math.max(acc.maxAbsError, c.maxAbsError),
      pass: acc.pass && c.pass,
      worstAt: c.maxAbsError > acc.maxAbsError ? c.worstAt : acc.worstAt,
    }),
    { maxAbsError: 0, pass: true, worstAt: -1 },
  );
}
