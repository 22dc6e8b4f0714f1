import type { OptimizerGroup } from '@rowshard/core';

/**
 * Some fixtures name an optimizer without its learning rate ("SGD on both sparse tables").
 * The lr then has to come from the data: the recorded losses after the first step depend on
 * it, so we search for the lr that reproduces losses[1..k] (a log grid, then golden-section
 * refinement, then a snap to a round value such as 0.5 when that fits at least as well).
 * The result is reported beside the case; the final weights remain an independent check.
 */
export type TrajectoryLossFn = (groups: readonly OptimizerGroup[], steps: number) => number[];

export interface LrEstimate {
  readonly group: string;
  readonly lr: number;
}

function withLr(groups: readonly OptimizerGroup[], name: string, lr: number): OptimizerGroup[] {
  return groups.map((g) => (g.name === name ? { ...g, optimizer: { ...g.optimizer, lr } } : g));
}

function mismatch(losses: number[], expected: readonly number[]): number {
  let worst = 0;
  for (let i = 1; i < losses.length; i++) {
    const d = Math.abs(losses[i] - expected[i]);
    worst = Math.max(worst, Number.isFinite(d) ? d : Number.POSITIVE_INFINITY);
  }
  return worst;
}

const ROUND_MANTISSAS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 7.5, 8, 9];

function roundCandidates(lr: number): number[] {
  const e = Math.floor(Math.log10(lr));
  const out: number[] = [];
  for (const k of [e - 1, e, e + 1]) {
    for (const m of ROUND_MANTISSAS) {
      const c = Number((m * 10 ** k).toPrecision(3));
      if (Math.abs(c - lr) <= 0.03 * lr) out.push(c);
    }
  }
  return out;
}

function searchOne(objective: (lr: number) => number): number {
  const lo = -5;
  const hi = 1.5;
  const perDecade = 12;
  let bestX = lo;
  let bestF = Number.POSITIVE_INFINITY;
  for (let x = lo; x <= hi + 1e-9; x += 1 / perDecade) {
    const f = objective(10 ** x);
    if (f < bestF) {
      bestF = f;
      bestX = x;
    }
  }
  // Golden-section search on log10(lr) around the best grid point.
  let a = bestX - 1 / perDecade;
  let b = bestX + 1 / perDecade;
  const phi = (Math.sqrt(5) - 1) / 2;
  let c = b - phi * (b - a);
  let d = a + phi * (b - a);
  let fc = objective(10 ** c);
  let fd = objective(10 ** d);
  for (let i = 0; i < 40; i++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - phi * (b - a);
      fc = objective(10 ** c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + phi * (b - a);
      fd = objective(10 ** d);
    }
  }
  let best = 10 ** ((a + b) / 2);
  let bestErr = objective(best);
  for (const cand of roundCandidates(best)) {
    const err = objective(cand);
    if (err <= bestErr + 1e-7) {
      best = cand;
      bestErr = err;
    }
  }
  return best;
}

export function estimateLearningRates(
  groups: readonly OptimizerGroup[],
  unknown: readonly string[],
  expectedLosses: readonly number[],
  run: TrajectoryLossFn,
): { groups: OptimizerGroup[]; estimates: LrEstimate[] } {
  const steps = Math.min(expectedLosses.length, 4);
  let current = [...groups];
  if (steps < 2 || unknown.length === 0) return { groups: current, estimates: [] };
  const rounds = unknown.length === 1 ? 1 : 3;
  for (let round = 0; round < rounds; round++) {
    for (const name of unknown) {
      const objective = (lr: number) => mismatch(run(withLr(current, name, lr), steps), expectedLosses);
      current = withLr(current, name, searchOne(objective));
    }
  }
  const estimates = unknown.map((name) => ({ group: name, lr: Number(current.find((g) => g.name === name)?.optimizer.lr) }));
  return { groups: current, estimates };
}
