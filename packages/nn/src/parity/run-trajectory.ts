import type { OptimizerGroup } from '@rowshard/core';
import type { KernelsName } from '@rowshard/kernels';
import { LocalTrainer } from '../training/local-trainer.js';
import { type CaseResult, caseResult, compareArrays, mergeComparisons, TRAJECTORY_TOLERANCE } from './compare.js';
import type { FixtureReader } from './fixture-values.js';
import { estimateLearningRates } from './lr-estimate.js';
import { readTrajectoryFixture, type TrajectoryFixture } from './trajectory.js';

/** Trains a fixture's model in this process and returns losses and the final state. */
export function trainLocally(
  fx: TrajectoryFixture,
  groups: readonly OptimizerGroup[],
  steps = fx.batches.length,
  kernels: KernelsName = 'wasm',
): { losses: number[]; state: Record<string, Float32Array> } {
  const trainer = new LocalTrainer({ model: fx.model, groups, initialState: fx.initialState, kernels });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(trainer.trainStep(fx.batches[i]));
  const state: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(trainer.stateDict())) state[k] = v.data;
  return { losses, state };
}

/** Compares a run's losses and final state with the fixture's: two cases. */
export function compareTrajectory(
  r: FixtureReader,
  fx: TrajectoryFixture,
  run: { losses: number[]; state: Record<string, Float32Array> },
  label: string,
  note?: string,
): CaseResult[] {
  const lossCmp = compareArrays(run.losses, fx.losses, TRAJECTORY_TOLERANCE);
  const stateCmp = mergeComparisons(
    Object.entries(fx.finalState).map(([k, want]) =>
      compareArrays(run.state[k] ?? new Float32Array(0), want.data, TRAJECTORY_TOLERANCE),
    ),
  );
  return [
    caseResult(`${r.file} ${fx.model.name}${label} losses (${fx.losses.length} steps)`, lossCmp, TRAJECTORY_TOLERANCE, note),
    caseResult(`${r.file} ${fx.model.name}${label} final_state`, stateCmp, TRAJECTORY_TOLERANCE),
  ];
}

/** Resolves the fixture's optimizer groups, estimating any learning rate it does not state. */
export function resolveGroups(fx: TrajectoryFixture): { groups: OptimizerGroup[]; note?: string } {
  if (fx.unknownLr.length === 0) return { groups: fx.groups };
  const { groups, estimates } = estimateLearningRates(
    fx.groups,
    fx.unknownLr,
    fx.losses,
    (g, steps) => trainLocally(fx, g, steps).losses,
  );
  const note = `lr not stated in the fixture; estimated from losses[1..3]: ${estimates.map((e) => `${e.group} lr=${e.lr}`).join(', ')}`;
  return { groups, note };
}

export function runTrajectory(r: FixtureReader, root: Record<string, unknown>, kernels: KernelsName = 'wasm'): CaseResult[] {
  const fx = readTrajectoryFixture(r, root);
  const { groups, note } = resolveGroups(fx);
  return compareTrajectory(r, fx, trainLocally(fx, groups, fx.batches.length, kernels), '', note);
}
