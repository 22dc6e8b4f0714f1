import { type FixtureTensor, f32, loadFixture, maxAbsDiff } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { RowshardError } from '../errors.js';
import { applySparseGradient, createTableState } from './apply.js';
import { parseSparseOptimizerConfig } from './config.js';
import { sparseRowOptimizer } from './kernels.js';

interface SparseFixture {
  initial_weight: FixtureTensor;
  steps: { ids: number[]; grads: FixtureTensor }[];
  runs: { optimizer: string; hyperparameters: Record<string, unknown>; weights_after_each_step: FixtureTensor[] }[];
}

const kindOf = (label: string) => (label.startsWith('adagrad') ? 'adagrad' : label);

describe.each(['pytorch', 'pytorch-alt'] as const)('sparse optimizers against PyTorch (%s)', (set) => {
  const fx = loadFixture<SparseFixture>(set === 'pytorch' ? 'sparse_optimizers.json' : 'optim.json', set);
  const dim = fx.initial_weight.shape[1];
  it.each(fx.runs.map((r) => [r.optimizer, r] as const))('%s matches after every step', (_label, run) => {
    const config = parseSparseOptimizerConfig({ ...run.hyperparameters, kind: kindOf(run.optimizer) });
    const opt = sparseRowOptimizer(config, dim);
    const table = createTableState(opt, f32(fx.initial_weight));
    fx.steps.forEach((s, t) => {
      applySparseGradient(opt, table, s.ids, f32(s.grads), { lr: config.lr, step: t + 1 });
      expect(maxAbsDiff(table.weights, run.weights_after_each_step[t].data)).toBeLessThan(1e-5);
    });
  });
});

describe('sparse optimizer config', () => {
  it("accepts PyTorch's snake_case names and class names", () => {
    expect(parseSparseOptimizerConfig({ kind: 'Adagrad', lr_decay: 0.1, initial_accumulator_value: 0.2 })).toMatchObject({
      kind: 'adagrad',
      lrDecay: 0.1,
      initialAccumulatorValue: 0.2,
      lr: 0.01,
      eps: 1e-10,
    });
    expect(parseSparseOptimizerConfig({ kind: 'SparseAdam' })).toMatchObject({
      kind: 'sparse_adam',
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
    });
  });

  it('refuses momentum on sparse SGD and a missing SGD lr, naming the field', () => {
    expect(() => parseSparseOptimizerConfig({ kind: 'sgd', lr: 0.1, momentum: 0.9 })).toThrow(/optimizer\.momentum/);
    expect(() => parseSparseOptimizerConfig({ kind: 'sgd' })).toThrow(/optimizer\.lr: is required/);
    expect(() => parseSparseOptimizerConfig({ kind: 'adam' })).toThrow(RowshardError);
  });

  it('row-wise Adagrad keeps one accumulator per row', () => {
    const opt = sparseRowOptimizer(parseSparseOptimizerConfig({ kind: 'rowwise_adagrad', lr: 1 }), 2);
    expect(opt.stateFloatsPerRow).toBe(1);
    const table = createTableState(opt, Float32Array.from([1, 1, 5, 5]));
    applySparseGradient(opt, table, [0, 0], Float32Array.from([1, 2, 2, 2]), { lr: 1, step: 1 });
    // coalesced g = (3, 4); acc = (9 + 16) / 2 = 12.5; w -= g / sqrt(12.5)
    expect(table.state[0]).toBeCloseTo(12.5, 5);
    expect(table.weights[0]).toBeCloseTo(1 - 3 / Math.sqrt(12.5), 5);
    expect(table.weights[1]).toBeCloseTo(1 - 4 / Math.sqrt(12.5), 5);
    expect([...table.weights.subarray(2)]).toEqual([5, 5]);
  });

  it('never touches the padding row', () => {
    const opt = sparseRowOptimizer(parseSparseOptimizerConfig({ kind: 'sgd', lr: 1 }), 1);
    const table = createTableState(opt, Float32Array.from([0, 1]));
    applySparseGradient(opt, table, [0, 1], Float32Array.from([5, 5]), { lr: 1, step: 1 }, 0);
    expect([...table.weights]).toEqual([0, -4]);
  });
});
