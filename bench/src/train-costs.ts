import { median } from './stats.js';

/** What bench:train measures of a run, and the medians over its repeats. */

export interface Cost {
  examplesPerSec: number;
  cpuMsPerKiloExample: number;
}

export interface RowshardRun extends Cost {
  mode: 'bsp' | 'asp';
  /** sync.poolBags: the sequence means taken on the shards where the mode allows it. */
  poolBags: boolean;
  /** sync.prefetch (ASP): a step's pull sent a step ahead of the worker's last push. */
  prefetch: boolean;
  ps: number;
  workers: number;
  /** CPU ms per 1000 examples by role. */
  byRole: Record<string, number>;
  /** examples/s over each 500 steps of the run, from its start. */
  warmup: number[];
  /** With --count-gc: collections over the run, by role and kind. */
  gc?: Record<string, { scavenge: number; markCompact: number }>;
  finalLoss: number | null;
}

export interface Progress {
  step: number;
  /** examples/s over the log window ending at `step`, as the coordinator reports it. */
  rate: number;
  at: number;
  examples: number;
}

export const round = (x: number) => Math.round(x * 10) / 10;

export const WARMUP_BUCKET = 500;

/** examples/s over each WARMUP_BUCKET steps, from the progress reports within it. */
export function warmupCurve(progress: readonly Progress[], steps: number): number[] {
  const curve: number[] = [];
  for (let from = 0; from < steps; from += WARMUP_BUCKET) {
    const inside = progress.filter((p) => p.step >= from && p.step < from + WARMUP_BUCKET);
    const first = inside[0];
    const last = inside[inside.length - 1];
    if (!first || last === first) break;
    curve.push(Math.round((last.examples - first.examples) / ((last.at - first.at) / 1000)));
  }
  return curve;
}

/** Medians over repeats (of the runs that ran), or the note of one that did not. */
export function medianCost(costs: (Cost | { note: string })[]): Cost | { note: string } {
  const ok = costs.filter(isCost);
  if (ok.length === 0) return costs[0];
  return {
    examplesPerSec: Math.round(median(ok.map((c) => c.examplesPerSec))),
    cpuMsPerKiloExample: round(median(ok.map((c) => c.cpuMsPerKiloExample))),
  };
}

export function medianRun(runs: RowshardRun[]): RowshardRun {
  const byRole: Record<string, number> = {};
  for (const role of Object.keys(runs[0].byRole)) byRole[role] = round(median(runs.map((r) => r.byRole[role])));
  return { ...runs[0], ...(medianCost(runs) as Cost), byRole };
}
export const isCost = (x: unknown): x is Cost => typeof (x as Cost).examplesPerSec === 'number';
