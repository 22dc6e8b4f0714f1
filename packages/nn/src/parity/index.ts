import { type KernelsName, StepArena } from '@rowshard/kernels';
import { inStep } from '../step-scope.js';
import type { CaseResult } from './compare.js';
import { FixtureReader } from './fixture-values.js';
import { runForwardLookup, runGradients } from './run-lookup.js';
import { runSparseOptimizers } from './run-sparse-optimizers.js';
import { runTrajectory } from './run-trajectory.js';

export * from './compare.js';
export { FixtureReader } from './fixture-values.js';
export { parseOptimizerStatement } from './optimizer-statement.js';
export { compareTrajectory, resolveGroups, trainLocally } from './run-trajectory.js';
export { readTrajectoryFixture, type TrajectoryFixture } from './trajectory.js';

export type FixtureKind = 'forward_lookup' | 'gradients' | 'sparse_optimizers' | 'trajectory';

/** Recognises a fixture by its top-level fields, not its file name (other sets rename files). */
export function fixtureKind(r: FixtureReader, root: Record<string, unknown>): FixtureKind {
  if ('cases' in root) return 'forward_lookup';
  if ('embedding' in root || 'embedding_bag' in root) return 'gradients';
  if ('runs' in root && 'initial_weight' in root) return 'sparse_optimizers';
  if ('initial_state' in root && 'batches' in root) return 'trajectory';
  throw r.fail(
    '',
    `unknown fixture kind: top-level fields ${Object.keys(root).join(', ') || '(none)'} match none of forward_lookup (cases), gradients (embedding, embedding_bag), sparse_optimizers (initial_weight, runs), trajectory (initial_state, batches)`,
  );
}

/**
 * Runs every case of one parsed fixture file in this process, with the WebAssembly kernels
 * in a step arena (what training runs) or the JavaScript reference kernels.
 */
export function runFixture(file: string, json: unknown, kernels: KernelsName = 'wasm'): CaseResult[] {
  const r = new FixtureReader(file);
  const root = r.object(json, '(top level)');
  const run = (): CaseResult[] => {
    switch (fixtureKind(r, root)) {
      case 'forward_lookup':
        return runForwardLookup(r, root);
      case 'gradients':
        return runGradients(r, root);
      case 'sparse_optimizers':
        return runSparseOptimizers(r, root);
      case 'trajectory':
        return runTrajectory(r, root, kernels);
    }
  };
  if (kernels === 'js') return run();
  return inStep(new StepArena(), run);
}
