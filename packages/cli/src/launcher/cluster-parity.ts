import { resolve } from 'node:path';
import { tableSpec } from '@rowshard/core';
import { parity } from '@rowshard/nn';
import { PsClient } from '@rowshard/trainer';
import { type LocalClusterOptions, startLocalCluster } from './local-cluster.js';

export interface ClusterParityOptions {
  readonly ps?: number;
  readonly trainers?: number;
  readonly workersPerTrainer?: number;
  readonly onLog?: LocalClusterOptions['onLog'];
}

/**
 * Runs a trajectory fixture through a real cluster in BSP mode: the fixture's initial state
 * loaded into the shards and the coordinator, its global batches split across every worker,
 * then the per-step losses and the final tables (pulled from the shards) and dense
 * parameters compared with PyTorch's.
 */
export async function runTrajectoryOnCluster(
  file: string,
  path: string,
  json: unknown,
  options: ClusterParityOptions = {},
): Promise<parity.CaseResult[]> {
  const r = new parity.FixtureReader(file);
  const fx = parity.readTrajectoryFixture(r, r.object(json, '(top level)'));
  const { groups, note } = parity.resolveGroups(fx);
  const abs = resolve(path);
  const batchSize = fx.batches[0].target.length;
  const optimizers = Object.fromEntries(groups.map((g) => [g.name, { ...g.optimizer, schedule: g.schedule }]));
  const job = {
    seed: 0,
    model: fx.modelSpec,
    optimizers,
    sync: { mode: 'bsp' },
    steps: fx.batches.length,
    batchSize,
    data: { kind: 'fixture', path: abs },
    initialState: { fixture: abs },
    logEverySteps: fx.batches.length,
  };
  const cluster = await startLocalCluster({
    job,
    ps: options.ps ?? 3,
    trainers: options.trainers ?? 2,
    workersPerTrainer: options.workersPerTrainer ?? 2,
    onLog: options.onLog,
  });
  try {
    const result = await cluster.result();
    const specs = fx.model.tables.map((t) => tableSpec({ ...t }));
    const client = new PsClient({ shardUrls: cluster.psUrls(), token: cluster.credential('trainer'), tables: specs });
    await client.connect();
    const state: Record<string, Float32Array> = { ...result.denseParams };
    try {
      for (const spec of specs) {
        const ids = Float64Array.from({ length: spec.numEmbeddings }, (_, i) => i);
        state[`${spec.name}.weight`] = await client.pull(spec.name, ids);
      }
    } finally {
      await client.close();
    }
    // A parity run starts at step 0, so every loss is known; a missing one fails the comparison.
    const shape = `${options.ps ?? 3} PS × ${options.trainers ?? 2} trainers × ${options.workersPerTrainer ?? 2} workers`;
    return parity.compareTrajectory(
      r,
      fx,
      { losses: result.losses.map((l) => l ?? Number.NaN), state },
      ` cluster(${shape})`,
      note,
    );
  } finally {
    await cluster.stop();
  }
}
