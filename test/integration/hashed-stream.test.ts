import { featureId, parseSparseOptimizerConfig, tableSpec } from '@rowshard/core';
import { HashedLocalTable } from '@rowshard/nn';
import { type PsCluster, startPsProcesses } from '@rowshard/testkit';
import { PsClient } from '@rowshard/trainer';
import { roleCredential } from '@rowshard/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A stream of 1,000,000 distinct raw 64-bit ids, each seen twice (two pushes in a row), into a
 * hashed table with count admission (N = 2) and a per-shard capacity, on real PS processes
 * (standalone, ASP: each push applied is a step of the table's clock). The shards' resident
 * memory stays under a cap a table keeping every id could not (1M rows × 384 B of weights and
 * SparseAdam moments = 366 MiB), and the rows that survive are those of the single-process
 * reference fed the same pushes.
 */
const TOKEN = 'test-cluster-token';
const SHARDS = 2;
const DIM = 32;
const CAPACITY = 20_000;
const IDS = 1_000_000;
const CHUNK = 4096;
/** Per PS process: Node itself (~50 MiB) and the capped table, far below what 500k rows per shard would take. */
const RSS_CAP_BYTES = 160 * 2 ** 20;

const table = {
  spec: {
    name: 'users',
    kind: 'hashed',
    numEmbeddings: IDS,
    embeddingDim: DIM,
    admission: { kind: 'count', minCount: 2, width: 1 << 16, depth: 4 },
    eviction: { capacityRows: CAPACITY },
  },
  optimizer: { kind: 'sparse_adam', lr: 0.01 },
};
const spec = tableSpec(table.spec as Parameters<typeof tableSpec>[0]);

describe('a 1M-distinct-id stream with admission and a capacity', () => {
  let cluster: PsCluster;
  let client: PsClient;
  beforeAll(async () => {
    cluster = await startPsProcesses({ numShards: SHARDS, seed: 3, tables: [table], token: TOKEN });
    client = new PsClient({ shardUrls: cluster.urls, token: roleCredential(TOKEN, 'trainer'), tables: [spec] });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('keeps each PS under its memory cap, and the surviving rows equal the reference run', async () => {
    const reference = new HashedLocalTable(spec, 3, parseSparseOptimizerConfig(table.optimizer), SHARDS);
    const ids = new BigUint64Array(CHUNK);
    const words = new Uint32Array(ids.buffer);
    const grads = new Float32Array(CHUNK * DIM);
    let step = 0;
    let maxRss = 0;
    for (let start = 0; start < IDS; start += CHUNK) {
      const n = Math.min(CHUNK, IDS - start);
      for (let i = 0; i < n; i++) featureId(0, start + i, words, i);
      for (let i = 0; i < n * DIM; i++) grads[i] = ((start + i) % 13) * 0.01 - 0.06;
      // Twice: the first push counts each id once, the second admits it.
      for (let twice = 0; twice < 2; twice++, step++) {
        await client.push('users', ids.subarray(0, n), grads.subarray(0, n * DIM), { lr: 0.01, step: step + 1 });
        reference.clock = step;
        reference.applyGradient({ ids: ids.subarray(0, n), rows: grads.subarray(0, n * DIM) }, { lr: 0.01, step: step + 1 });
        reference.endStep(step);
      }
      if ((start / CHUNK) % 40 === 0) for (const s of await client.stats()) maxRss = Math.max(maxRss, s.memory.rss);
    }
    const stats = await client.stats();
    for (const s of stats) maxRss = Math.max(maxRss, s.memory.rss);
    console.log(
      `1M distinct ids: per shard rows ${stats.map((s) => s.tables.users.rowsMaterialised).join(', ')}, ` +
        `table bytes ${stats.map((s) => s.tables.users.bytesUsed).join(', ')}, max RSS ${(maxRss / 2 ** 20).toFixed(1)} MiB`,
    );
    for (const s of stats) {
      expect(s.tables.users.rowsMaterialised).toBeLessThanOrEqual(CAPACITY);
      expect(s.tables.users.dynamic?.evicted).toBeGreaterThan(400_000);
    }
    expect(maxRss).toBeLessThan(RSS_CAP_BYTES);
    // Every id was admitted (its second push), and all but the newest 2 × CAPACITY evicted.
    const admitted = stats.reduce((a, s) => a + (s.tables.users.dynamic?.admitted ?? 0), 0);
    expect(admitted).toBe(reference.counts.admitted);
    expect(admitted).toBeGreaterThan(IDS * 0.99);
    const survivors = reference.ids();
    expect(survivors.length).toBe(stats.reduce((a, s) => a + s.tables.users.rowsMaterialised, 0));
    expect(await client.pull('users', survivors)).toEqual(reference.read(survivors));
  }, 240_000);
});
