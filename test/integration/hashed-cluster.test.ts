import { type LocalCluster, startLocalCluster } from '@rowshard/cli';
import type { JobResult } from '@rowshard/coordinator';
import { type DataSpec, parseOptimizerGroups, parseTableOverrides, tableSpec } from '@rowshard/core';
import { applyTableOverrides, builtinModel, HashedLocalTable, LocalTrainer, type Model } from '@rowshard/nn';
import { maxAbsDiff } from '@rowshard/testkit';
import { PsClient, SyntheticCtr } from '@rowshard/trainer';
import { describe, expect, it } from 'vitest';

/**
 * A model whose tables are all hashed (raw 64-bit ids: featureId = (f·2^32 + v + 1) ·
 * 0x9e3779b97f4a7c15 mod 2^64, so nearly every id is past 2^53), trained through a real
 * cluster and in one process on the same ids.
 */
const job: Record<string, unknown> & {
  seed: number;
  steps: number;
  batchSize: number;
  model: { name: string; options: Record<string, number> };
  optimizers: Record<string, unknown>;
  data: Record<string, unknown>;
} = {
  seed: 4,
  model: { name: 'ctr', options: { numDense: 4, numCategorical: 5, embeddingDim: 4, hiddenDim: 8, tableSize: 1000 } },
  optimizers: { embeddings: { kind: 'adagrad', lr: 0.1 }, dense: { kind: 'sgd', lr: 0.1, momentum: 0.9 } },
  sync: 'bsp',
  steps: 6,
  batchSize: 32,
  data: { kind: 'synthetic_ctr', vocabSize: 300, numDense: 4, numCategorical: 5, zipfS: 1.1, seed: 2 },
};

function modelOf(j: typeof job): Model {
  const model = builtinModel('ctr', j.model.options);
  return applyTableOverrides(
    model,
    parseTableOverrides(
      j.tables,
      model.tables.map((t) => t.name),
      'tables',
    ),
  );
}

function trainLocally(j = job, numShards = 1) {
  const model = modelOf(j);
  const local = new LocalTrainer({ model, groups: parseOptimizerGroups(j.optimizers), seed: j.seed, numShards });
  const data = new SyntheticCtr(j.data as Extract<DataSpec, { kind: 'synthetic_ctr' }>, j.batchSize);
  const losses: number[] = [];
  for (let t = 0; t < j.steps; t++) losses.push(local.trainStep(data.slice(t, 0, j.batchSize)));
  return { model, local, losses };
}

async function runOnCluster(
  sizes: { ps: number; trainers: number; workersPerTrainer: number },
  ids: Map<string, BigUint64Array>,
  j = job,
) {
  let cluster: LocalCluster | null = null;
  try {
    cluster = await startLocalCluster({ job: j, ...sizes });
    const result: JobResult = await cluster.result();
    const specs = modelOf(j).tables.map((t) => tableSpec({ ...t }));
    const client = new PsClient({ shardUrls: cluster.psUrls(), token: cluster.credential('trainer'), tables: specs });
    await client.connect();
    // Each shard's stats: rows held per table, and what it counted.
    const stats = (await client.stats()).map((s) => ({ stats: s }));
    const tables: Record<string, Float32Array> = {};
    for (const spec of specs) {
      const wanted = ids.get(spec.name);
      if (wanted) tables[spec.name] = await client.pull(spec.name, wanted);
    }
    await client.close();
    return { result, tables, stats };
  } finally {
    await cluster?.stop();
  }
}

describe('a hashed-table model (64-bit ids) through a cluster', () => {
  const { model, local, losses } = trainLocally();
  const ids = new Map(model.tables.map((t) => [t.name, local.hashedRows(t.name).ids]));

  it('the ids are 64-bit: most of them past 2^53', () => {
    const all = [...ids.values()].flatMap((a) => [...a]);
    expect(all.filter((id) => id > BigInt(Number.MAX_SAFE_INTEGER)).length).toBeGreaterThan(all.length * 0.9);
  });

  it('3 PS × 1 worker in BSP is bitwise the single-process trainer: losses, every hashed row, dense parameters', async () => {
    const { result, tables } = await runOnCluster({ ps: 3, trainers: 1, workersPerTrainer: 1 }, ids);
    expect(result.losses).toEqual(losses);
    for (const spec of model.tables) expect(tables[spec.name]).toEqual(local.hashedRows(spec.name).weights);
    const state = local.stateDict();
    for (const p of model.dense) expect(result.denseParams[p.name]).toEqual(state[p.name].data);
    // ... and it trained: rows moved away from their init.
    const first = model.tables[0];
    const untouched = new HashedLocalTable(first, job.seed).read(ids.get(first.name) as BigUint64Array);
    expect(maxAbsDiff(tables[first.name], untouched)).toBeGreaterThan(1e-3);
  });

  it('3 PS × 2 trainers × 2 workers agrees within float32 summation order (1e-5)', async () => {
    const { result, tables } = await runOnCluster({ ps: 3, trainers: 2, workersPerTrainer: 2 }, ids);
    expect(maxAbsDiff(result.losses, losses)).toBeLessThan(1e-5);
    for (const spec of model.tables)
      expect(maxAbsDiff(tables[spec.name], local.hashedRows(spec.name).weights)).toBeLessThan(1e-5);
    const state = local.stateDict();
    for (const p of model.dense) expect(maxAbsDiff(result.denseParams[p.name], state[p.name].data)).toBeLessThan(1e-5);
  });
});

describe('admission and eviction through a cluster', () => {
  // Every table: admitted on the 2nd step with a gradient (a small sketch, so collisions happen),
  // at most 25 rows per shard, and rows idle for 4 steps go.
  const tables = Object.fromEntries(
    Array.from({ length: 5 }, (_, f) => [
      `cat_${f}`,
      { admission: { kind: 'count', minCount: 2, width: 256, depth: 2 }, eviction: { capacityRows: 25, ttlSteps: 4 } },
    ]),
  );
  const dynamicJob = { ...job, steps: 10, tables };

  it('3 PS in BSP is bitwise the single-process trainer with 3 virtual shards: losses, surviving ids and rows, counts', async () => {
    const { model, local, losses } = trainLocally(dynamicJob, 3);
    const ids = new Map(model.tables.map((t) => [t.name, local.hashedRows(t.name).ids]));
    const { result, tables, stats } = await runOnCluster({ ps: 3, trainers: 1, workersPerTrainer: 1 }, ids, dynamicJob);
    expect(result.losses).toEqual(losses);
    for (const spec of model.tables) {
      const mine = local.hashedRows(spec.name);
      const table = local.tables.get(spec.name)!.table as HashedLocalTable;
      // The shards hold exactly the ids the reference holds (pulling a not-admitted id makes no row) ...
      expect(stats.reduce((a, s) => a + s.stats.tables[spec.name].rowsMaterialised, 0)).toBe(mine.ids.length);
      for (const s of stats) expect(s.stats.tables[spec.name].rowsMaterialised).toBeLessThanOrEqual(25);
      // ... with the same values, and the same admissions, rejections and evictions.
      expect(tables[spec.name]).toEqual(mine.weights);
      const sum = (k: 'admitted' | 'rejected' | 'evicted') =>
        stats.reduce((a, s) => a + (s.stats.tables[spec.name].dynamic?.[k] ?? 0), 0);
      expect({ admitted: sum('admitted'), rejected: sum('rejected'), evicted: sum('evicted') }).toEqual(table.counts);
    }
    const counts = (local.tables.get('cat_0')!.table as HashedLocalTable).counts;
    expect(counts.admitted).toBeGreaterThan(0);
    expect(counts.rejected).toBeGreaterThan(0);
    expect(counts.evicted).toBeGreaterThan(0);
  });
});

describe('held-out evaluation of a binary model', () => {
  it('reports log-loss, accuracy and ROC AUC', async () => {
    const evalJob = {
      ...job,
      steps: 40,
      batchSize: 64,
      eval: { data: { ...job.data, seed: 9 }, everySteps: 20, batches: 4, batchSize: 128 },
    };
    const { result } = await runOnCluster({ ps: 2, trainers: 1, workersPerTrainer: 2 }, new Map(), evalJob);
    expect(result.evals.map((e) => e.step)).toEqual([20, 40]);
    const last = result.evals[1];
    expect(last.examples).toBe(512);
    expect(last.accuracy).toBeGreaterThan(0.5);
    expect(last.auc).toBeGreaterThan(0.6);
    expect(last.auc).toBeLessThanOrEqual(1);
  });
});

describe('admission and eviction without BSP', () => {
  it('ASP: each push a shard applies is a step of the clock; the job runs to the end within the capacity', async () => {
    const tables = Object.fromEntries(
      Array.from({ length: 5 }, (_, f) => [
        `cat_${f}`,
        { admission: { kind: 'probability', p: 0.5 }, eviction: { capacityRows: 20, ttlSteps: 6 } },
      ]),
    );
    const aspJob = { ...job, steps: 12, sync: { mode: 'asp' }, tables };
    const { result, stats } = await runOnCluster({ ps: 2, trainers: 1, workersPerTrainer: 2 }, new Map(), aspJob);
    expect(result.losses).toHaveLength(24);
    for (const s of stats) {
      for (const t of Object.values(s.stats.tables)) {
        expect(t.rowsMaterialised).toBeLessThanOrEqual(20);
        expect(t.dynamic?.admitted).toBeGreaterThan(0);
        expect(t.dynamic?.evicted).toBeGreaterThan(0);
      }
    }
  });
});
