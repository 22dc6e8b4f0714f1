import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalCluster, runTrajectoryOnCluster, startLocalCluster } from '@rowshard/cli';
import type { JobResult } from '@rowshard/coordinator';
import { type DataSpec, parseFreezePlan, parseOptimizerGroups, tableSpec } from '@rowshard/core';
import { builtinModel, LocalTrainer, type Model, validateModel } from '@rowshard/nn';
import { fixtureDir, maxAbsDiff, repoRoot } from '@rowshard/testkit';
import { PsClient, SyntheticText } from '@rowshard/trainer';
import { describe, expect, it } from 'vitest';

/**
 * Runs a job on real processes and returns its result, every table (pulled from the shards),
 * and the bags the shards answered with sums (sync.poolBags).
 */
async function runJob(job: Record<string, unknown>, sizes: { ps: number; trainers: number; workersPerTrainer: number }) {
  let cluster: LocalCluster | null = null;
  try {
    cluster = await startLocalCluster({ job, ...sizes });
    const result: JobResult = await cluster.result();
    const model = builtinOrModule(job.model as Record<string, unknown>);
    const specs = model.tables.map((t) => tableSpec({ ...t }));
    const limits = job.limits as { maxRequestRows: number; maxRequestBytes: number } | undefined;
    const client = new PsClient({
      shardUrls: cluster.psUrls(),
      token: cluster.credential('trainer'),
      tables: specs,
      ...(limits ? { limits: { maxRows: limits.maxRequestRows, maxBytes: limits.maxRequestBytes } } : {}),
    });
    await client.connect();
    const tables: Record<string, Float32Array> = {};
    for (const spec of specs)
      tables[spec.name] = await client.pull(
        spec.name,
        Float64Array.from({ length: spec.numEmbeddings }, (_, i) => i),
      );
    const bagsPulled = (await client.stats()).reduce((sum, s) => sum + s.bagsPulled, 0);
    await client.close();
    return { result, tables, bagsPulled };
  } finally {
    await cluster?.stop();
  }
}

const moduleModels = new Map<string, Model>();
function builtinOrModule(spec: Record<string, unknown>): Model {
  if (typeof spec.name === 'string') return builtinModel(spec.name, spec.options as Record<string, unknown>);
  return moduleModels.get(String(spec.path)) as Model;
}

const text = (overrides: Partial<Extract<DataSpec, { kind: 'synthetic_text' }>> = {}) => ({
  kind: 'synthetic_text',
  vocabSize: 3000,
  seqLen: 12,
  numClasses: 3,
  zipfS: 1.1,
  seed: 7,
  rule: 'signal_tokens',
  ...overrides,
});

const textModel = (vocabSize: number, dropout: number) => ({
  name: 'text_classifier',
  options: { vocabSize, embeddingDim: 8, hiddenDim: 8, numClasses: 3, dropout },
});

describe('the seed fixtures through a real cluster (3 PS, 2 trainers × 2 workers, BSP)', () => {
  it.each(['text_classifier.json', 'recommender.json', 'category_model.json'])(
    '%s: losses and final weights within 1e-4 of PyTorch',
    async (file) => {
      const path = join(fixtureDir(), file);
      const results = await runTrajectoryOnCluster(file, path, JSON.parse(readFileSync(path, 'utf8')));
      expect(results).toHaveLength(2);
      for (const r of results) expect(r, `${r.name}: ${r.maxAbsError}`).toMatchObject({ pass: true });
    },
  );
});

describe('BSP is bitwise reproducible', () => {
  const job = {
    seed: 11,
    model: textModel(3000, 0.1),
    optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
    sync: 'bsp',
    steps: 6,
    batchSize: 32,
    data: text(),
  };

  it('two runs with the same seed, 1, 2, 3 and 4 PS, and requests split to tiny limits give identical tables, dense parameters and losses', async () => {
    const sizes = { trainers: 2, workersPerTrainer: 2 };
    const a = await runJob(job, { ps: 2, ...sizes });
    const b = await runJob(job, { ps: 2, ...sizes });
    const one = await runJob(job, { ps: 1, ...sizes });
    const three = await runJob(job, { ps: 3, ...sizes });
    const four = await runJob(job, { ps: 4, ...sizes });
    // Shards that take at most 16 rows (512 bytes of rows) a request: every pull and push is
    // sent in pieces, and the step is the same.
    const split = await runJob({ ...job, limits: { maxRequestRows: 16, maxRequestBytes: 512 } }, { ps: 2, ...sizes });
    for (const other of [b, one, three, four, split]) {
      expect(other.result.losses).toEqual(a.result.losses);
      expect(other.tables.embedding).toEqual(a.tables.embedding);
      for (const [name, values] of Object.entries(a.result.denseParams)) expect(other.result.denseParams[name]).toEqual(values);
    }
    expect(a.result.losses).toHaveLength(6);
    // On 1, 2 and 4 shards the step's means were taken there (poolBags: each shard's subtrees
    // of the id tree, the worker's its top); on 3, and where a bag's part would not fit a
    // request of 16 rows, rows were pulled and the worker summed the whole tree. 32 bags a
    // step of 12 tokens: each of 1, 2 or 4 shards holds a position of most of them.
    expect(one.bagsPulled).toBe(6 * 32);
    expect(a.bagsPulled).toBeGreaterThan(6 * 32);
    expect(four.bagsPulled).toBeGreaterThan(a.bagsPulled);
    for (const other of [three, split]) expect(other.bagsPulled).toBe(0);
  });
});

describe('cluster BSP equals the single-process trainer', () => {
  async function compareWithLocal(
    model: Model,
    job: Record<string, unknown>,
    sizes: { ps: number; trainers: number; workersPerTrainer: number },
  ) {
    const { result, tables } = await runJob(job, sizes);
    const groups = parseOptimizerGroups(job.optimizers);
    const local = new LocalTrainer({
      model,
      groups,
      seed: job.seed as number,
      freeze: parseFreezePlan(
        job.freeze,
        model.tables.map((t) => t.name),
      ),
    });
    const data = new SyntheticText(job.data as Extract<DataSpec, { kind: 'synthetic_text' }>, job.batchSize as number);
    const losses: number[] = [];
    for (let t = 0; t < (job.steps as number); t++) losses.push(local.trainStep(data.slice(t, 0, job.batchSize as number)));
    expect(maxAbsDiff(result.losses, losses)).toBeLessThan(1e-5);
    const state = local.stateDict();
    for (const spec of model.tables) expect(maxAbsDiff(tables[spec.name], state[`${spec.name}.weight`].data)).toBeLessThan(1e-5);
    for (const p of model.dense) expect(maxAbsDiff(result.denseParams[p.name], state[p.name].data)).toBeLessThan(1e-5);
    return { result, losses };
  }

  it('with a frozen-then-unfrozen table and lr schedules on both groups', async () => {
    const job = {
      seed: 3,
      model: textModel(500, 0),
      optimizers: {
        embeddings: { kind: 'sparse_adam', lr: 0.05, schedule: { kind: 'step', stepSize: 4, gamma: 0.5 } },
        dense: { kind: 'adamw', lr: 0.02, schedule: { kind: 'warmup_linear', warmupSteps: 2, totalSteps: 10 } },
      },
      sync: 'bsp',
      steps: 8,
      batchSize: 16,
      data: text({ vocabSize: 500 }),
      freeze: [{ table: 'embedding', fromStep: 0, untilStep: 3 }],
    };
    const model = builtinModel('text_classifier', job.model.options);
    await compareWithLocal(model, job, { ps: 2, trainers: 1, workersPerTrainer: 2 });
  });

  it('with a user model module that shares one table between two inputs', async () => {
    const path = join(repoRoot, 'test/fixtures/models/shared-table.mjs');
    const options = { vocabSize: 400, embeddingDim: 6, numClasses: 3 };
    const model = validateModel((await import(path)).default(options));
    moduleModels.set(path, model);
    const job = {
      seed: 5,
      model: { path, options },
      optimizers: { embeddings: { kind: 'adagrad', lr: 0.1 }, dense: { kind: 'sgd', lr: 0.1, momentum: 0.9 } },
      sync: 'bsp',
      steps: 6,
      batchSize: 12,
      data: text({ vocabSize: 400, seqLen: 10 }),
    };
    await compareWithLocal(model, job, { ps: 3, trainers: 1, workersPerTrainer: 3 });
  });
});

describe('SSP and ASP', () => {
  const base = {
    seed: 1,
    model: textModel(2000, 0),
    optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
    steps: 40,
    batchSize: 64,
    data: text({ vocabSize: 2000, seqLen: 16, numClasses: 3 }),
    // Worker 0 is slow, so the others run ahead as far as the mode lets them.
    debug: { slowRanks: { '0': 25 } },
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('SSP(2) keeps every worker within 2 clocks of the slowest and converges', async () => {
    const { result } = await runJob(
      { ...base, sync: { mode: 'ssp', staleness: 2 } },
      { ps: 2, trainers: 2, workersPerTrainer: 2 },
    );
    expect(result.maxObservedLag).not.toBeNull();
    expect(result.maxObservedLag).toBeLessThanOrEqual(2);
    expect(result.maxObservedLag).toBeGreaterThanOrEqual(1); // the fast workers did run ahead
    expect(result.losses).toHaveLength(40 * 4);
    expect(mean(result.losses.slice(-20) as number[])).toBeLessThan(0.6 * mean(result.losses.slice(0, 20) as number[]));
    // The row caches (cacheSteps defaults to the staleness) served rows, none older than 2 clocks.
    expect(result.rowCache?.hits).toBeGreaterThan(0);
    expect(result.rowCache?.maxAge).toBeGreaterThanOrEqual(1);
    expect(result.rowCache?.maxAge).toBeLessThanOrEqual(2);
  });

  it('ASP converges too, with a row cache of 3 steps that never serves an older row', async () => {
    const { result } = await runJob(
      { ...base, sync: { mode: 'asp', cacheSteps: 3 } },
      { ps: 2, trainers: 1, workersPerTrainer: 2 },
    );
    expect(result.losses).toHaveLength(40 * 2);
    expect(mean(result.losses.slice(-10) as number[])).toBeLessThan(0.6 * mean(result.losses.slice(0, 10) as number[]));
    expect(result.rowCache?.hits).toBeGreaterThan(0);
    expect(result.rowCache?.maxAge).toBeLessThanOrEqual(3);
  });
});

describe('bags pooled on the shards (sync.poolBags, the default)', () => {
  const job = {
    seed: 5,
    model: textModel(3000, 0),
    optimizers: { embeddings: { kind: 'adagrad', lr: 0.1 }, dense: { kind: 'adam', lr: 0.01 } },
    steps: 6,
    batchSize: 32,
    data: text(),
  };
  const oneWorker = { trainers: 1, workersPerTrainer: 1 };

  it('ASP, one shard: one sum per bag on the wire, and the bits of pulling the rows', async () => {
    const pooled = await runJob({ ...job, sync: { mode: 'asp' } }, { ps: 1, ...oneWorker });
    const rows = await runJob({ ...job, sync: { mode: 'asp', poolBags: false } }, { ps: 1, ...oneWorker });
    expect(pooled.bagsPulled).toBe(6 * 32);
    expect(rows.bagsPulled).toBe(0);
    expect(pooled.result.losses).toEqual(rows.result.losses);
    expect(pooled.tables.embedding).toEqual(rows.tables.embedding);
    for (const [name, values] of Object.entries(rows.result.denseParams)) expect(pooled.result.denseParams[name]).toEqual(values);
  });

  it("ASP's prefetch: off, one worker computes BSP's numbers; on, a step reads the rows pulled before the worker's last push", async () => {
    const steps = { ...job, steps: 8 };
    const bsp = await runJob({ ...steps, sync: { mode: 'bsp' } }, { ps: 1, ...oneWorker });
    const fresh = await runJob({ ...steps, sync: { mode: 'asp' } }, { ps: 1, ...oneWorker });
    const ahead = await runJob({ ...steps, sync: { mode: 'asp', prefetch: true } }, { ps: 1, ...oneWorker });
    // The same steps; only the order of a bag's adds differs (ASP's position order, BSP's id tree).
    expect(maxAbsDiff(fresh.result.losses, bsp.result.losses)).toBeLessThan(1e-6);
    expect(maxAbsDiff(fresh.tables.embedding, bsp.tables.embedding)).toBeLessThan(1e-6);
    // Step 0 reads the initial rows either way; from step 1 on, prefetch reads rows one push behind.
    expect(ahead.result.losses[0]).toBe(fresh.result.losses[0]);
    expect(ahead.result.losses.slice(1)).not.toEqual(fresh.result.losses.slice(1));
    expect(ahead.result.losses).toHaveLength(8);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(ahead.result.losses.slice(-3) as number[])).toBeLessThan(sum(ahead.result.losses.slice(0, 3) as number[]));
  });

  it("ASP, three shards: each shard's partial sums, added on the worker, within float32 rounding of the rows", async () => {
    const pooled = await runJob({ ...job, sync: { mode: 'asp' } }, { ps: 3, ...oneWorker });
    const rows = await runJob({ ...job, sync: { mode: 'asp', poolBags: false } }, { ps: 3, ...oneWorker });
    // A shard answers only the bags it holds positions of: of 12 tokens, most bags have some on each.
    expect(pooled.bagsPulled).toBeGreaterThan(2 * 6 * 32);
    expect(pooled.bagsPulled).toBeLessThanOrEqual(3 * 6 * 32);
    expect(rows.bagsPulled).toBe(0);
    expect(maxAbsDiff(pooled.result.losses, rows.result.losses)).toBeLessThan(1e-5);
    expect(maxAbsDiff(pooled.tables.embedding, rows.tables.embedding)).toBeLessThan(1e-5);
  });
});
