import { describe, expect, it } from 'vitest';
import { isFrozenAt, parseFreezePlan, tableStepAt } from './freeze-plan.js';
import { parseJobConfig, workerSlice } from './job-config.js';
import { jobDefaults } from './job-defaults.js';
import { parseLrSchedule } from './schedule.js';

const minimal = {
  model: { name: 'text_classifier', options: { vocabSize: 100 } },
  optimizers: { embeddings: { kind: 'sparse_adam' }, dense: { kind: 'adam' } },
  steps: 10,
  batchSize: 8,
  data: { kind: 'synthetic_text', vocabSize: 100, seqLen: 4 },
};

describe('job config', () => {
  it('fills defaults', () => {
    const job = parseJobConfig(minimal);
    expect(job.sync).toEqual({ mode: 'bsp' });
    expect(job.cluster).toEqual({ ps: 2, trainers: 1, workersPerTrainer: 2 });
    expect(job.seed).toBe(0);
    expect(job.data).toMatchObject({ numClasses: 2, zipfS: 1.1, rule: 'signal_tokens', repeatBatches: 0 });
  });

  it('takes the defaults of every section from jobDefaults', () => {
    const job = parseJobConfig(
      {
        ...minimal,
        data: { kind: 'file', path: 'train.txt' },
        eval: { data: minimal.data },
        checkpoint: { dir: 'ckpt' },
        tables: { words: { pretrained: { path: 'w.npy' } } },
        freeze: [{ table: 'words' }],
        debug: {},
      },
      ['words'],
    );
    const { seed, sync, cluster, timeouts, logEverySteps, debug } = jobDefaults;
    expect(job).toMatchObject({ seed, sync, cluster, timeouts, logEverySteps, debug });
    expect(job.data).toEqual({ kind: 'file', path: 'train.txt', ...jobDefaults.data.file });
    expect(job.eval).toEqual({ data: parseJobConfig(minimal).data, ...jobDefaults.eval });
    expect(job.checkpoint).toEqual({ dir: 'ckpt', ...jobDefaults.checkpoint });
    expect(job.tables.words.pretrained).toEqual({ path: 'w.npy', format: 'npy', ...jobDefaults.tables.pretrained });
    expect(job.freeze).toEqual([{ table: 'words', ...jobDefaults.freeze }]);
    expect(job.optimizers[0].schedule).toEqual({ kind: jobDefaults.optimizers.schedule.kind });
    const { gamma, warmupSteps, minLrRatio } = jobDefaults.optimizers.schedule;
    expect(parseLrSchedule({ kind: 'step', stepSize: 2 })).toEqual({ kind: 'step', stepSize: 2, gamma });
    expect(parseLrSchedule({ kind: 'warmup_linear', totalSteps: 9 })).toMatchObject({ warmupSteps, minLrRatio });
  });

  it("a warmup schedule's totalSteps defaults to the job's steps, and must be given outside a job", () => {
    const job = parseJobConfig({
      ...minimal,
      steps: 40,
      optimizers: { embeddings: { kind: 'sgd', lr: 0.1, schedule: { kind: 'warmup_linear' } } },
    });
    expect(job.optimizers[0].schedule).toMatchObject({ kind: 'warmup_linear', totalSteps: 40 });
    const given = parseJobConfig({
      ...minimal,
      steps: 40,
      optimizers: { embeddings: { kind: 'sgd', lr: 0.1, schedule: { kind: 'warmup_cosine', totalSteps: 10 } } },
    });
    expect(given.optimizers[0].schedule).toMatchObject({ totalSteps: 10 });
    expect(() => parseLrSchedule({ kind: 'warmup_linear' })).toThrow(/totalSteps: must be a positive integer/);
  });

  it('jobDefaults cannot be changed at run time', () => {
    expect(Object.isFrozen(jobDefaults.data.file)).toBe(true);
    expect(() => {
      (jobDefaults.cluster as { ps: number }).ps = 9;
    }).toThrow(TypeError);
  });

  it.each([
    [{ ...minimal, colour: 1 }, 'colour: unknown field'],
    [{ ...minimal, steps: 0 }, 'steps: must be a positive integer'],
    [{ ...minimal, sync: { mode: 'ssp' } }, 'sync.staleness: is required for ssp'],
    [{ ...minimal, model: { options: {} } }, 'model: give exactly one of name'],
    [{ ...minimal, batchSize: 1 }, 'batchSize: 1 examples cannot be split across 2 workers'],
    [{ ...minimal, data: { kind: 'csv' } }, 'data.kind: must be one of fixture, synthetic_text'],
    [{ ...minimal, optimizers: { embeddings: { lr: 1 } } }, 'optimizers.embeddings.kind: is required'],
    [{ ...minimal, debug: { slowRanks: { one: 5 } } }, 'debug.slowRanks.one: keys must be worker ranks'],
  ])('refuses %j naming the field', (job, message) => {
    expect(() => parseJobConfig(job)).toThrow(message);
  });

  it('splits a global batch into contiguous, non-overlapping worker slices', () => {
    const slices = [0, 1, 2, 3].map((r) => workerSlice(10, r, 4));
    expect(slices).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 6 },
      { start: 6, end: 8 },
      { start: 8, end: 10 },
    ]);
  });
});

describe('freeze plan', () => {
  const plan = parseFreezePlan(
    [
      { table: 'emb', fromStep: 0, untilStep: 3 },
      { table: 'emb', fromStep: 5, untilStep: 6 },
    ],
    ['emb', 'other'],
  );

  it('freezes inside windows and counts optimizer steps only when trainable', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((t) => isFrozenAt(plan, 'emb', false, t))).toEqual([
      true,
      true,
      true,
      false,
      false,
      true,
      false,
    ]);
    expect(tableStepAt(plan, 'emb', false, 3)).toBe(1);
    expect(tableStepAt(plan, 'emb', false, 4)).toBe(2);
    expect(tableStepAt(plan, 'emb', false, 6)).toBe(3);
    expect(tableStepAt(plan, 'other', false, 6)).toBe(7);
  });

  it('refuses unknown tables and overlapping windows', () => {
    expect(() => parseFreezePlan([{ table: 'nope' }], ['emb'])).toThrow("freeze[0].table: unknown table 'nope'");
    expect(() =>
      parseFreezePlan(
        [
          { table: 'emb', fromStep: 0, untilStep: 5 },
          { table: 'emb', fromStep: 4 },
        ],
        ['emb'],
      ),
    ).toThrow(/overlaps/);
  });
});
