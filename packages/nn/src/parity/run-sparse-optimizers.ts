import {
  applySparseGradient,
  createTableState,
  normalizeKindName,
  parseSparseOptimizerConfig,
  type SparseOptimizerConfig,
  sparseOptimizerKinds,
  sparseRowOptimizer,
} from '@rowshard/core';
import { type CaseResult, caseResult, compareArrays, mergeComparisons, TRAJECTORY_TOLERANCE } from './compare.js';
import type { FixtureReader } from './fixture-values.js';

/**
 * A run's `optimizer` is a label ('sgd', 'adagrad_lr_decay', 'sparse_adam'): its kind is the
 * longest known optimizer name it starts with. An explicit `kind` field wins when present.
 */
function kindOfRun(r: FixtureReader, run: Record<string, unknown>, path: string): string {
  if (typeof run.kind === 'string') return run.kind;
  const label = String(normalizeKindName(r.string(r.field(run, 'optimizer', path), `${path}.optimizer`)));
  const known = [...sparseOptimizerKinds].sort((a, b) => b.length - a.length);
  const kind = known.find((k) => label === k || label.startsWith(`${k}_`));
  if (!kind) {
    throw r.fail(`${path}.optimizer`, `unknown sparse optimizer '${label}' (known: ${sparseOptimizerKinds.join(', ')})`);
  }
  return kind;
}

/** sparse_optimizers.json: one table, sparse steps, the table after every step for each run. */
export function runSparseOptimizers(r: FixtureReader, root: Record<string, unknown>): CaseResult[] {
  const initial = r.tensor(r.field(root, 'initial_weight', ''), 'initial_weight');
  if (initial.shape.length !== 2) throw r.fail('initial_weight', 'must be 2-D');
  const [rows, dim] = initial.shape;
  const steps = r.array(r.field(root, 'steps', ''), 'steps').map((raw, i) => {
    const s = r.object(raw, `steps[${i}]`);
    const ids = r.indices(r.field(s, 'ids', `steps[${i}]`), `steps[${i}].ids`).data;
    const grads = r.tensor(r.field(s, 'grads', `steps[${i}]`), `steps[${i}].grads`);
    if (grads.data.length !== ids.length * dim)
      throw r.fail(`steps[${i}].grads`, `needs [${ids.length}, ${dim}], got [${grads.shape.join(', ')}]`);
    for (let k = 0; k < ids.length; k++) {
      if (ids[k] < 0 || ids[k] >= rows) throw r.fail(`steps[${i}].ids[${k}]`, `row ${ids[k]} out of range [0, ${rows})`);
    }
    return { ids, grads: grads.data };
  });
  const runs = r.array(r.field(root, 'runs', ''), 'runs');
  return runs.map((raw, i) => {
    const path = `runs[${i}]`;
    const run = r.object(raw, path);
    const kind = kindOfRun(r, run, path);
    const hp = r.object(r.field(run, 'hyperparameters', path), `${path}.hyperparameters`);
    let config: SparseOptimizerConfig;
    try {
      config = parseSparseOptimizerConfig({ ...hp, kind }, `${path}.hyperparameters`);
    } catch (e) {
      throw r.fail(`${path}.hyperparameters`, (e as Error).message);
    }
    const expected = r.array(r.field(run, 'weights_after_each_step', path), `${path}.weights_after_each_step`);
    if (expected.length !== steps.length)
      throw r.fail(`${path}.weights_after_each_step`, `has ${expected.length} entries for ${steps.length} steps`);
    const optimizer = sparseRowOptimizer(config, dim);
    const table = createTableState(optimizer, Float32Array.from(initial.data));
    const comparisons = steps.map((s, t) => {
      applySparseGradient(optimizer, table, s.ids, s.grads, { lr: config.lr, step: t + 1 });
      const want = r.tensor(expected[t], `${path}.weights_after_each_step[${t}]`);
      return compareArrays(table.weights, want.data, TRAJECTORY_TOLERANCE);
    });
    const label = `${r.file} ${path} ${String(run.optimizer ?? kind)} (${steps.length} steps)`;
    return caseResult(label, mergeComparisons(comparisons), TRAJECTORY_TOLERANCE);
  });
}
