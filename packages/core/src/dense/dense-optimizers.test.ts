import { type FixtureTensor, f32, loadFixture, maxAbsDiff } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { lrAt, parseLrSchedule } from '../schedule.js';
import { parseDenseOptimizerConfig } from './config.js';
import { createDenseState, denseOptimizerStep } from './optimizers.js';

interface DenseFixture {
  initial: FixtureTensor;
  grads: FixtureTensor[];
  runs: { optimizer: string; kind: string; hyperparameters: Record<string, unknown>; weights_after_each_step: FixtureTensor[] }[];
  schedules: Record<string, { base_lr: number; schedule: unknown; lrs: number[] }>;
}

const fx = loadFixture<DenseFixture>('dense_optimizers.json', 'torch-extra');

describe('dense optimizers against PyTorch', () => {
  it.each(fx.runs.map((r) => [r.optimizer, r] as const))('%s matches after every step', (_label, run) => {
    const config = parseDenseOptimizerConfig({ ...run.hyperparameters, kind: run.kind });
    const param = f32(fx.initial);
    const state = createDenseState(config, param.length);
    fx.grads.forEach((g, t) => {
      denseOptimizerStep(config, param, f32(g), state, config.lr);
      expect(maxAbsDiff(param, run.weights_after_each_step[t].data)).toBeLessThan(1e-5);
    });
  });

  it('AdamW defaults to weight_decay 0.01 as torch.optim.AdamW', () => {
    expect(parseDenseOptimizerConfig({ kind: 'AdamW' })).toMatchObject({ weightDecay: 0.01, lr: 1e-3 });
  });
});

describe('learning-rate schedules', () => {
  it('StepLR matches torch', () => {
    const s = fx.schedules.step;
    const sched = parseLrSchedule(s.schedule);
    s.lrs.forEach((lr, step) => {
      expect(lrAt(s.base_lr, sched, step)).toBeCloseTo(lr, 12);
    });
  });

  it('linear warmup then linear decay (transformers semantics)', () => {
    const sched = parseLrSchedule({ kind: 'warmup_linear', warmupSteps: 4, totalSteps: 12 });
    expect([0, 2, 4, 8, 12, 20].map((s) => lrAt(1, sched, s))).toEqual([0, 0.5, 1, 0.5, 0, 0]);
  });

  it('cosine decay with a floor', () => {
    const sched = parseLrSchedule({ kind: 'warmup_cosine', warmupSteps: 0, totalSteps: 10, minLrRatio: 0.1 });
    expect(lrAt(2, sched, 0)).toBeCloseTo(2, 12);
    expect(lrAt(2, sched, 5)).toBeCloseTo(2 * (0.1 + 0.9 * 0.5), 12);
    expect(lrAt(2, sched, 10)).toBeCloseTo(0.2, 12);
  });

  it('refuses a warmup longer than the run', () => {
    expect(() => parseLrSchedule({ kind: 'warmup_linear', warmupSteps: 20, totalSteps: 10 })).toThrow(/schedule\.warmupSteps/);
  });
});
