import {
  applySparseGradient,
  createTableState,
  initDenseTable,
  parseSparseOptimizerConfig,
  psProtocol,
  sparseRowOptimizer,
  tableSpec,
} from '@rowshard/core';
import { type FixtureTensor, f32, loadFixture, type PsCluster, startPsProcesses } from '@rowshard/testkit';
import { PsClient } from '@rowshard/trainer';
import { FrameCodec, RpcClient, roleCredential } from '@rowshard/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/**
 * Real PS processes on loopback (packages/ps/dist/main.js), driven through the trainer's
 * PsClient, checked against the core kernels run in this process.
 */
interface SparseFixture {
  steps: { ids: number[]; grads: FixtureTensor }[];
  runs: { optimizer: string; hyperparameters: Record<string, unknown> }[];
}
const fx = loadFixture<SparseFixture>('sparse_optimizers.json');
const kindOf = (label: string) => (label.startsWith('adagrad') ? 'adagrad' : label);
const TOKEN = 'test-cluster-token';
/** What a worker presents: the shards hold TOKEN and check this credential at the upgrade. */
const TRAINER = roleCredential(TOKEN, 'trainer');
const SEED = 1234;
const ROWS = 50;
const DIM = 4;

const optimizerTables = fx.runs.map((run) => ({
  spec: { name: `t_${run.optimizer}`, numEmbeddings: ROWS, embeddingDim: DIM, paddingIdx: 0 },
  optimizer: { ...run.hyperparameters, kind: kindOf(run.optimizer) },
}));
const extraTables = [
  { spec: { name: 'frozen', numEmbeddings: 20, embeddingDim: DIM, frozen: true }, optimizer: { kind: 'sgd', lr: 1 } },
  { spec: { name: 'capped', numEmbeddings: 20, embeddingDim: DIM, maxNorm: 1 }, optimizer: { kind: 'sgd', lr: 1 } },
  { spec: { name: 'users', kind: 'hashed', numEmbeddings: 1000, embeddingDim: DIM }, optimizer: { kind: 'adagrad', lr: 0.1 } },
];
const allTables = [...optimizerTables, ...extraTables];
const specs = allTables.map((t) => tableSpec(t.spec as Parameters<typeof tableSpec>[0]));
const allIds = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('parameter server processes on loopback', () => {
  let cluster: PsCluster;
  let client: PsClient;

  beforeAll(async () => {
    cluster = await startPsProcesses({ numShards: 3, seed: SEED, tables: allTables, token: TOKEN, maxPayloadBytes: 1 << 20 });
    client = new PsClient({ shardUrls: cluster.urls, token: TRAINER, tables: specs });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('serves the deterministic init, the same as a single process', async () => {
    const rows = await client.pull('t_sgd', allIds(ROWS));
    expect(rows).toEqual(initDenseTable(specs[0], SEED));
  });

  it('pull takes any index shape and returns rows in request order', async () => {
    const ids = [7, 7, 3, 0, 7, 49];
    const rows = await client.pull('t_sgd', Int32Array.from(ids));
    const full = initDenseTable(specs[0], SEED);
    ids.forEach((id, i) => expect(rows.subarray(i * DIM, (i + 1) * DIM)).toEqual(full.subarray(id * DIM, (id + 1) * DIM)));
  });

  it.each(fx.runs.map((r, i) => [r.optimizer, i] as const))('push round trips match the core kernel: %s', async (label, i) => {
    const spec = specs[i];
    const config = parseSparseOptimizerConfig(optimizerTables[i].optimizer);
    const opt = sparseRowOptimizer(config, DIM);
    const reference = createTableState(opt, initDenseTable(spec, SEED));
    for (const [t, step] of fx.steps.entries()) {
      await client.push(spec.name, step.ids, f32(step.grads), { lr: config.lr, step: t + 1 });
      applySparseGradient(opt, reference, step.ids, f32(step.grads), { lr: config.lr, step: t + 1 }, spec.paddingIdx);
    }
    const served = await client.pull(spec.name, allIds(ROWS));
    // The shard's kernels compute in float32 (as PyTorch does), core's reference in float64.
    for (let k = 0; k < served.length; k++) expect(Math.abs(served[k] - reference.weights[k]), label).toBeLessThan(1e-6);
    // The padding row never changes.
    expect([...served.subarray(0, DIM)]).toEqual([0, 0, 0, 0]);
  });

  it('applies max_norm on pull, renormalising the stored row as PyTorch does', async () => {
    const rows = await client.pull('capped', allIds(20));
    for (let r = 0; r < 20; r++) {
      const norm = Math.hypot(...rows.subarray(r * DIM, (r + 1) * DIM));
      expect(norm).toBeLessThanOrEqual(1 + 1e-6);
    }
    expect(await client.pull('capped', allIds(20))).toEqual(rows);
  });

  it('serves hashed 64-bit ids', async () => {
    const ids = BigUint64Array.from([2n ** 63n + 5n, 17n, 2n ** 40n, 17n]);
    const before = await client.pull('users', ids);
    expect(before.subarray(DIM, 2 * DIM)).toEqual(before.subarray(3 * DIM, 4 * DIM));
    await client.push('users', ids, new Float32Array(4 * DIM).fill(1), { lr: 0.1, step: 1 });
    const after = await client.pull('users', ids);
    expect(after[0]).toBeCloseTo(before[0] - 0.1, 5); // adagrad's first step moves by lr
  });

  describe('bad requests are refused whole, with typed errors, and change nothing', () => {
    const table = 't_sgd';
    const grads = (n: number) => new Float32Array(n * DIM).fill(0.5);
    let before: Float32Array;
    beforeAll(async () => {
      before = await client.pull(table, allIds(ROWS));
    });

    it.each([
      [
        'out of range',
        { ids: [3, 50], grads: grads(2) },
        'E_INDEX_OUT_OF_RANGE',
        "table 't_sgd': index 50 at position 1 is out of range [0, 50)",
      ],
      ['negative', { ids: [-1], grads: grads(1) }, 'E_INDEX_OUT_OF_RANGE', 'index -1 at position 0 is out of range [0, 50)'],
      ['not an integer', { ids: [1.5], grads: grads(1) }, 'E_INDEX_NOT_INTEGER', 'index 1.5 at position 0 is not an integer'],
      ['wrong dim', { ids: [3], grads: new Float32Array(DIM + 1) }, 'E_BAD_SHAPE', 'gradient has 5 values'],
      ['NaN gradient', { ids: [3], grads: Float32Array.from([0, Number.NaN, 0, 0]) }, 'E_BAD_GRADIENT', 'holds NaN'],
      [
        'Inf gradient',
        { ids: [3], grads: Float32Array.from([0, 0, Number.POSITIVE_INFINITY, 0]) },
        'E_BAD_GRADIENT',
        'holds Infinity',
      ],
    ] as const)('%s', async (_what, bad, code, message) => {
      // A good part for another table rides along: it must not be applied either.
      const attempt = client.pushMany([
        { table: 't_adagrad', ids: [4], grads: grads(1), lr: 0.1, step: 1 },
        { table, ids: bad.ids, grads: bad.grads, lr: 0.1, step: 1 },
      ]);
      await expect(attempt).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
      expect(await client.pull(table, allIds(ROWS))).toEqual(before);
    });

    it('an unknown table', async () => {
      const raw = new RpcClient({ url: cluster.urls[0], token: TRAINER, protocol: psProtocol });
      await raw.connect();
      await expect(raw.request('pull', { tables: [{ table: 'nope', ids: Int32Array.of(0) }] })).rejects.toMatchObject({
        code: 'E_UNKNOWN_TABLE',
        message: expect.stringContaining("unknown table 'nope'"),
      });
      // A plain array where a typed array belongs, as a faulty peer would send it.
      await expect(raw.request('pull', { tables: [{ table, ids: [0, 3] }] } as never)).rejects.toMatchObject({
        code: 'E_BAD_REQUEST',
        message:
          'pull: tables[0].ids must be a typed array (Int32Array, Uint32Array, Float64Array or BigUint64Array), got an array of 2',
      });
      await expect(raw.request('pull', { tables: [{ table, ids: Int32Array.of(1) }] })).rejects.toMatchObject({
        code: 'E_WRONG_SHARD',
      });
      await raw.close();
    });

    it('a frozen table refuses pushes', async () => {
      const frozenBefore = await client.pull('frozen', allIds(20));
      await expect(client.push('frozen', [1], grads(1), { lr: 1, step: 1 })).rejects.toMatchObject({
        code: 'E_FROZEN_TABLE',
        message: "table 'frozen' is frozen and takes no gradients",
      });
      expect(await client.pull('frozen', allIds(20))).toEqual(frozenBefore);
    });
  });

  it('refuses a missing or wrong credential, or the cluster token itself, at the upgrade (HTTP 401)', async () => {
    for (const token of ['wrong-token', TOKEN, null]) {
      const c = new RpcClient({ url: cluster.urls[0], token, protocol: psProtocol, transport: { connectTimeoutMs: 5000 } });
      await expect(c.connect()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
      await c.close();
    }
  });

  it('a frame of 10× maxPayload closes only that connection; another client keeps working', async () => {
    const bystander = new PsClient({ shardUrls: cluster.urls, token: TRAINER, tables: specs });
    await bystander.connect();
    const ws = new WebSocket(cluster.urls[0], { headers: { authorization: `Bearer ${TRAINER}` }, perMessageDeflate: false });
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => {});
    ws.send(Buffer.alloc(10 << 20));
    expect(await closed).toBe(1009);
    const rows = await bystander.pull('t_sgd', [1, 2, 3]);
    expect(rows.length).toBe(3 * DIM);
    await bystander.close();
  });

  it('a malformed frame closes only that connection (1007); a text frame gets 1003', async () => {
    for (const [payload, code] of [
      [Buffer.from([0xc1, 0xff, 0x00]), 1007],
      [new FrameCodec().encode({ v: 1, type: 'pull' }).frame, 1007],
      ['hello', 1003],
    ] as const) {
      const ws = new WebSocket(cluster.urls[1], { headers: { authorization: `Bearer ${TRAINER}` }, perMessageDeflate: false });
      await new Promise((resolve) => ws.once('open', resolve));
      const closed = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
      ws.send(payload);
      expect(await closed).toBe(code);
    }
    expect((await client.pull('t_sgd', [1])).length).toBe(DIM);
  });

  it('reports stats per shard', async () => {
    const stats = await client.stats();
    expect(stats.map((s) => s.shard)).toEqual([0, 1, 2]);
    for (const s of stats) {
      expect(s.rowsMaterialised).toBeGreaterThan(0);
      expect(s.bytesUsed).toBeGreaterThan(0);
    }
    expect(Object.values(stats[0].errors).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

describe('heartbeats', () => {
  it('notice a PS that stops answering (SIGSTOP) within two intervals, long before the request deadline', async () => {
    const cluster = await startPsProcesses({ numShards: 1, tables: [optimizerTables[0]], token: TOKEN });
    try {
      const c = new RpcClient({
        url: cluster.urls[0],
        token: TRAINER,
        protocol: psProtocol,
        transport: { heartbeatIntervalMs: 200, requestTimeoutMs: 30_000 },
      });
      await c.connect();
      cluster.processes[0].child.kill('SIGSTOP');
      const t0 = Date.now();
      await expect(c.request('ping', {})).rejects.toMatchObject({ code: 'E_CONNECTION_CLOSED' });
      const waited = Date.now() - t0;
      // Detection is by missed pongs (2 intervals + one tick), not by the 30 s deadline.
      expect(waited).toBeLessThan(5000);
      cluster.processes[0].child.kill('SIGCONT');
      await c.close();
    } finally {
      await cluster.stop();
    }
  });
});
