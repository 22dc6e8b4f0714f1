import { Coordinator } from '@rowshard/coordinator';
import {
  applySparseGradient,
  coordinatorProtocol,
  createTableState,
  type DataSpec,
  initDenseTable,
  parseOptimizerGroups,
  parseSparseOptimizerConfig,
  sparseRowOptimizer,
  tableSpec,
} from '@rowshard/core';
import {
  type BagOrder,
  backward,
  builtinModel,
  embeddingBag,
  embeddingLookup,
  indexTensor,
  LocalTrainer,
  sumDim,
} from '@rowshard/nn';
import { ParameterServer, PsService } from '@rowshard/ps';
import { maxAbsDiff } from '@rowshard/testkit';
import {
  PooledRows,
  PsClient,
  pooledPull,
  RemoteRows,
  RowCache,
  routeBags,
  routeTable,
  SyntheticText,
  WorkerLoop,
} from '@rowshard/trainer';
import { RpcClient } from '@rowshard/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The hot path of a step in one process, on real sockets: the PS client's routing against
 * in-process parameter servers, the pulled-rows view a forward pass reads, and whole worker
 * steps through an in-process coordinator (docs/ARCHITECTURE.md, "One training step").
 */
const DIM = 3;
const spec = tableSpec({ name: 't', numEmbeddings: 30, embeddingDim: DIM });
const SEED = 9;

describe('PsClient routing over three shards', () => {
  let shards: ParameterServer[] = [];
  let client: PsClient;

  beforeAll(async () => {
    shards = await Promise.all(
      [0, 1, 2].map((shard) =>
        ParameterServer.start({
          token: null,
          config: {
            shard,
            numShards: 3,
            seed: SEED,
            tables: [{ spec, optimizer: { kind: 'sgd', lr: 1, weightDecay: 0 } }],
            sync: { mode: 'asp' },
            workers: 1,
            stepTimeoutMs: 5000,
          },
        }),
      ),
    );
    client = new PsClient({ shardUrls: shards.map((s) => s.url), token: null, tables: [spec] });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await Promise.all(shards.map((s) => s.close()));
  });

  it('pulls each distinct row once from its owner and answers in request order, duplicates across shards included', async () => {
    const ids = [5, 2, 5, 9, 2, 8, 0, 9];
    const rows = await client.pull('t', ids);
    const full = initDenseTable(spec, SEED);
    ids.forEach((id, i) => expect(rows.subarray(i * DIM, (i + 1) * DIM)).toEqual(full.subarray(id * DIM, (id + 1) * DIM)));
    // Distinct rows 5, 2, 9, 8, 0: shard 0 owns 9, 0; shard 1 none; shard 2 owns 5, 2, 8.
    const pulled = shards.map((s) => s.node.service?.stats().rowsPulled);
    expect(pulled).toEqual([2, 0, 3]);
  });

  it('sums duplicate gradient rows before pushing, and each shard applies only its own rows', async () => {
    const ids = [4, 7, 4, 10, 7, 4];
    const grads = Float32Array.from({ length: ids.length * DIM }, (_, i) => (i % 5) - 2);
    const before = await client.pull('t', [4, 7, 10]);
    await client.push('t', ids, grads, { lr: 0.5, step: 1 });
    const opt = sparseRowOptimizer(parseSparseOptimizerConfig({ kind: 'sgd', lr: 0.5 }), DIM);
    const reference = createTableState(opt, initDenseTable(spec, SEED));
    applySparseGradient(opt, reference, ids, grads, { lr: 0.5, step: 1 });
    const after = await client.pull('t', [4, 7, 10]);
    const want = Float32Array.from([4, 7, 10].flatMap((r) => [...reference.weights.subarray(r * DIM, (r + 1) * DIM)]));
    expect(after).toEqual(want);
    expect(after).not.toEqual(before);
    // One push part per shard that owns a row: rows 4 and 7 (shard 1), 10 (shard 1): 3 rows.
    expect(shards.map((s) => s.node.service?.stats().rowsPushed)).toEqual([0, 3, 0]);
  });
});

describe('a bag pooled on the shards (sync.poolBags), as a forward sees it', () => {
  const ids = Uint32Array.of(5, 2, 5, 9, 0, 2, 7);
  const bounds = Int32Array.of(0, 3, 3, 7); // bag 1 is empty
  const rows = Float32Array.from({ length: 30 * DIM }, (_, i) => Math.sin(i));
  /** What a shard answers: each of its bags' float32 sum of its positions' rows, in position order. */
  function shardSums(shardIds: Uint32Array, bags: Int32Array, bagCount: number): Float32Array {
    const out = new Float32Array(bagCount * DIM);
    shardIds.forEach((id, p) => {
      for (let k = 0; k < DIM; k++) out[bags[p] * DIM + k] += rows[id * DIM + k];
    });
    return out;
  }

  it("splits positions by shard, adds the shards' sums and takes the mean; its gradient goes back per bag", () => {
    const bag = { ids, bounds, mode: 'mean' as const };
    const routing = routeBags(spec, bag, 3, 'positions');
    // Shard of id = id % 3: 9, 0 on shard 0; 7 on 1; 5, 2, 5, 2 on 2. Each shard numbers the
    // bags it holds positions of: shards 0 and 1 only bag 2, shard 2 bags 0 and 2.
    expect(routing.shardIds.map((a) => [...a])).toEqual([[9, 0], [7], [5, 2, 5, 2]]);
    expect(routing.shardBagIds.map((a) => [...a])).toEqual([[2], [2], [0, 2]]);
    expect(routing.shardBags.map((a) => [...a])).toEqual([[0, 0], [0], [0, 0, 0, 1]]);
    const plan = pooledPull(routing);
    for (let s = 0; s < 3; s++) {
      const part = plan.partFor(s);
      expect(part?.bagCount).toBe(routing.shardBagIds[s].length);
      plan.place(s, shardSums(routing.shardIds[s], routing.shardBags[s], routing.shardBagIds[s].length));
    }
    const sums = new Float32Array(3 * DIM);
    plan.copyInto(sums);
    const source = new PooledRows(routing, sums, true);
    const input = indexTensor([ids.length], ids);
    const out = embeddingBag(source, input, { mode: 'mean', offsets: [0, 3, 3] });
    for (let k = 0; k < DIM; k++) {
      expect(out.data[k]).toBeCloseTo((rows[5 * DIM + k] * 2 + rows[2 * DIM + k]) / 3, 6);
      expect(out.data[DIM + k]).toBe(0);
    }
    // d(sum of every output)/d(output) = 1 for each.
    backward(sumDim(sumDim(out, 1), 0));
    // A mean's gradient is 1/len of the output's per position: each bag's, once.
    expect([...(source.bagGrads ?? [])].map((g) => Math.round(g * 1e6) / 1e6)).toEqual([
      ...new Array(DIM).fill(0.333333),
      ...new Array(DIM).fill(1),
      ...new Array(DIM).fill(0.25),
    ]);
    // Each shard is sent the gradients of its own bags only.
    const grads = source.bagGrads ?? new Float32Array(0);
    expect([...routing.shardGrads(grads, 0)]).toEqual([...grads.subarray(2 * DIM)]);
    expect([...routing.shardGrads(grads, 2)]).toEqual([...grads.subarray(0, DIM), ...grads.subarray(2 * DIM)]);
  });

  it('on one shard sends every position in order, and numbers the bags that hold any', () => {
    const routing = routeBags(spec, { ids, bounds, mode: 'mean' }, 1, 'positions');
    expect(routing.shardIds.map((a) => [...a])).toEqual([[5, 2, 5, 9, 0, 2, 7]]);
    expect(routing.shardIds[0]).toBeInstanceOf(Uint32Array);
    expect(routing.shardBagIds.map((a) => [...a])).toEqual([[0, 2]]);
    expect(routing.shardBags.map((a) => [...a])).toEqual([[0, 0, 0, 1, 1, 1, 1]]);
  });

  it("refuses a bag's id out of range or not an integer, on one shard or several, naming the position", () => {
    for (const shards of [1, 2]) {
      const bag = (of: Float64Array) => ({ ids: of, bounds: Int32Array.of(0, of.length), mode: 'mean' as const });
      expect(() => routeBags(spec, bag(Float64Array.of(1, 30)), shards, 'positions')).toThrow(
        "table 't': index 30 at position 1 is out of range [0, 30)",
      );
      expect(() => routeBags(spec, bag(Float64Array.of(1.5)), shards, 'positions')).toThrow(
        'index 1.5 at position 0 is not an integer',
      );
    }
  });

  it('refuses a forward that reads the table any other way, and bounds that do not cover the ids', () => {
    const routing = routeBags(spec, { ids, bounds, mode: 'mean' }, 1, 'positions');
    const source = () => new PooledRows(routing, new Float32Array(3 * DIM), true);
    expect(() => embeddingLookup(source(), indexTensor([2], Int32Array.of(5, 2)))).toThrow(
      "the shards reduced this step's bag (pooledBags), but the forward looked its rows up",
    );
    expect(() => embeddingBag(source(), indexTensor([ids.length], ids), { mode: 'sum', offsets: [0, 3, 3] })).toThrow(
      'but the forward reduced another bag',
    );
    expect(() => routeBags(spec, { ids, bounds: Int32Array.of(0, 3, 5), mode: 'mean' }, 1, 'positions')).toThrow(
      'bounds must run from 0 to the 7 ids, got [0 .. 5]',
    );
  });
});

describe("BSP's id tree: a bag's bits whatever the shard count", () => {
  const wide = tableSpec({ name: 'w', numEmbeddings: 400, embeddingDim: 5 });
  // Rows whose float32 sums depend on the order: magnitudes 10^-4 .. 10^4.
  const values = Float32Array.from({ length: 400 * 5 }, (_, i) => Math.sin(i * 7) * 10 ** ((i % 9) - 4));
  // Six bags of up to 40 positions, ids repeating and over many leaves; bag 3 empty.
  const lengths = [40, 17, 33, 0, 25, 1];
  const bounds = Int32Array.from([0, ...lengths.map((_, b) => lengths.slice(0, b + 1).reduce((a, c) => a + c, 0))]);
  const ids = Uint32Array.from({ length: bounds[6] }, (_, p) => (p * 37 + (p % 5) * 101) % 400);
  const bag = { ids, bounds, mode: 'mean' as const };
  const input = () => indexTensor([ids.length], ids);
  const offsets = [...bounds.subarray(0, 6)];

  function shards(n: number): PsService[] {
    return Array.from({ length: n }, (_, shard) => {
      const ps = new PsService({
        shard,
        numShards: n,
        seed: SEED,
        tables: [{ spec: wide, optimizer: parseSparseOptimizerConfig({ kind: 'sgd', lr: 0.1 }) }],
      });
      const mine = Uint32Array.from({ length: 400 }, (_, i) => i).filter((id) => id % n === shard);
      const rows = new Float32Array(mine.length * 5);
      mine.forEach((id, k) => rows.set(values.subarray(id * 5, id * 5 + 5), k * 5));
      ps.load([{ table: 'w', ids: mine, rows }]);
      return ps;
    });
  }

  /** The bags' means as the shards pool them: each shard's sums, added on the worker. */
  function pooledMeans(n: number, idTree: boolean): Float32Array {
    const servers = shards(n);
    const routing = routeBags(wide, bag, n, idTree ? 'idTree' : 'positions');
    const plan = pooledPull(routing);
    for (let s = 0; s < n; s++) {
      const part = plan.partFor(s);
      if (part) plan.place(s, servers[s].pull([part])[0]);
    }
    const sums = new Float32Array(6 * 5);
    plan.copyInto(sums);
    return embeddingBag(new PooledRows(routing, sums, false), input(), { mode: 'mean', offsets }).data;
  }

  /** The bags' means from the rows pulled from `n` shards, on the worker. */
  function workerMeans(n: number, bagOrder: BagOrder): Float32Array {
    const servers = shards(n);
    const routing = routeTable(wide, [ids], n);
    const rows = new Float32Array(routing.rows * 5);
    for (let s = 0; s < n; s++) {
      if (routing.shardStart[s + 1] > routing.shardStart[s])
        rows.set(servers[s].pull([{ table: 'w', ids: routing.shardIds(s) }])[0], routing.shardStart[s] * 5);
    }
    return embeddingBag(new RemoteRows(routing, rows, null, bagOrder), input(), { mode: 'mean', offsets }).data;
  }

  const bits = (a: Float32Array) => [...new Uint32Array(Float32Array.from(a).buffer)];

  it('pooled on 1, 2, 4 and 16 shards, and from rows pulled from 3, the same bits', () => {
    const want = bits(workerMeans(3, 'idTree'));
    for (const n of [1, 2, 4, 16]) expect(bits(pooledMeans(n, true))).toEqual(want);
    expect(bits(workerMeans(1, 'idTree'))).toEqual(want);
    // Position order (ASP's) gives other bits: the data tells the orders apart.
    expect(bits(pooledMeans(1, false))).not.toEqual(want);
  });

  it('with padding_idx, sums the positions that are not padding in the tree, as a bag of those alone', () => {
    const padded = tableSpec({ name: 'w', numEmbeddings: 400, embeddingDim: 5, paddingIdx: 0 });
    const rows = Float32Array.from({ length: 400 * 5 }, (_, i) => values[i]);
    // Ids 1..399 as they are, and every fifth position padding: the bags keep their other positions.
    const withPad = Uint32Array.from(ids, (id, p) => (p % 5 === 0 ? 0 : id === 0 ? 1 : id));
    const kept = Array.from(withPad.keys()).filter((p) => withPad[p] !== 0);
    const keptOffsets = offsets.map((o) => kept.filter((p) => p < o).length);
    const sumOf = (list: Uint32Array, bagOffsets: number[]) => {
      const routing = routeTable(padded, [list], 1);
      const pulled = new Float32Array(routing.rows * 5);
      routing.ids.forEach((id, r) => pulled.set(rows.subarray(Number(id) * 5, Number(id) * 5 + 5), r * 5));
      const source = new RemoteRows(routing, pulled, null, 'idTree');
      return embeddingBag(source, indexTensor([list.length], list), { mode: 'sum', offsets: bagOffsets }).data;
    };
    const want = sumOf(
      Uint32Array.from(kept, (p) => withPad[p]),
      keptOffsets,
    );
    expect(bits(sumOf(withPad, offsets))).toEqual(bits(want));
  });

  it('refuses to route the id tree over shards it does not split over', () => {
    expect(() => routeBags(wide, bag, 3, 'idTree')).toThrow('the id tree does not split over 3 shards');
  });
});

describe('routing a step once, and the pulled rows as a forward pass sees them', () => {
  const batchIds = Float64Array.of(5, 2, 5, 9, 0, 2);
  const other = Float64Array.of(9, 9);

  it('dedupes the lists together, lays the distinct ids out by shard, and maps each position to its row', () => {
    const routing = routeTable(spec, [batchIds, other], 3);
    // Distinct in first-occurrence order 5, 2, 9, 0 → shard 0: 9, 0; shard 1: none; shard 2: 5, 2.
    expect([...routing.ids]).toEqual([9, 0, 5, 2]);
    expect([...routing.shardStart]).toEqual([0, 2, 2, 4]);
    expect([...(routing.rowsOf(batchIds) ?? [])]).toEqual([2, 3, 2, 0, 1, 3]);
    expect([...(routing.rowsOf(other) ?? [])]).toEqual([0, 0]);
    expect([...routing.shardIds(2)]).toEqual([5, 2]);
  });

  it('refuses an id out of range or not an integer, naming table, position and range', () => {
    expect(() => routeTable(spec, [Float64Array.of(1, 30)], 2)).toThrow(
      "table 't': index 30 at position 1 is out of range [0, 30)",
    );
    expect(() => routeTable(spec, [Float64Array.of(1.5)], 2)).toThrow('index 1.5 at position 0 is not an integer');
  });

  const pulled = () => {
    const routing = routeTable(spec, [batchIds], 3);
    const rows = Float32Array.from({ length: routing.rows * DIM }, (_, i) => i);
    return new RemoteRows(routing, rows, new Float32Array(routing.rows * DIM));
  };

  it('answers a lookup of a routed list with the pulled rows and the precomputed rows, without a copy', () => {
    const view = pulled();
    const lookup = view.lookup(batchIds);
    expect(lookup.rows).toBe(view.rows);
    expect(lookup.rowOf).toBe(view.routing.rowsOf(batchIds));
  });

  it('maps a lookup of other ids among the pulled rows, and refuses a row the batch did not pull', () => {
    const view = pulled();
    expect([...view.lookup(Float64Array.of(2, 9)).rowOf]).toEqual([3, 0]);
    expect(() => view.lookup(Float64Array.of(4))).toThrow(/looked up row 4, which rowsNeeded\(\) did not list/);
  });

  it('pushes every row when the routed lists had their gradient flow, and only the touched rows otherwise', () => {
    const all = pulled();
    expect(all.gradientRows()).toBe('none');
    all.lookup(batchIds).gradientFlowed();
    expect(all.gradientRows()).toBeNull();
    const some = pulled();
    some.lookup(Float64Array.of(2)).gradientFlowed();
    expect([...(some.gradientRows() as Uint8Array)]).toEqual([0, 0, 0, 1]);
  });
});

describe('the row cache (SSP, ASP with cacheSteps)', () => {
  const ids = Float64Array.of(4, 7, 10);
  const reply = (n: number, v: number) => new Float32Array(n * DIM).fill(v);

  it('serves a row pulled at clock c until clock c + cacheSteps, then pulls it again', () => {
    const cache = new RowCache(2);
    const routing = (clock: number) => ({ routing: routeTable(spec, [ids], 1), clock });
    const asked: number[] = [];
    for (let clock = 0; clock < 6; clock++) {
      const { routing: r } = routing(clock);
      const plan = cache.plan(r, clock);
      const want = plan.partFor(0)?.ids ?? null;
      asked.push(want ? want.length : 0);
      if (want) plan.place(0, reply(want.length, clock));
      const rows = new Float32Array(r.rows * DIM);
      plan.copyInto(rows);
      // Every row read at `clock` was pulled at most 2 clocks before.
      for (const v of rows) expect(clock - v).toBeLessThanOrEqual(2);
    }
    // Pulled at 0, served at 1 and 2, pulled at 3, served at 4 and 5.
    expect(asked).toEqual([3, 0, 0, 3, 0, 0]);
    expect(cache.maxAge).toBe(2);
    expect(cache.hits).toBe(12);
  });

  it('pulls only the rows it does not hold', () => {
    const cache = new RowCache(1);
    const first = cache.plan(routeTable(spec, [Float64Array.of(4, 7)], 2), 0);
    for (const shard of [0, 1]) {
      const want = first.partFor(shard)?.ids ?? null;
      if (want) first.place(shard, reply(want.length, 1));
    }
    const second = cache.plan(routeTable(spec, [Float64Array.of(4, 7, 9)], 2), 1);
    // Shard 1 holds 7 and 9; 7 is cached, 9 is not. Shard 0 holds 4, cached.
    expect(second.partFor(0)?.ids ?? null).toBeNull();
    expect([...(second.partFor(1)?.ids ?? [])]).toEqual([9]);
  });
});

describe('worker steps through an in-process coordinator and shards', () => {
  const data: Extract<DataSpec, { kind: 'synthetic_text' }> = {
    kind: 'synthetic_text',
    vocabSize: 200,
    seqLen: 6,
    numClasses: 3,
    zipfS: 1.1,
    seed: 4,
    rule: 'signal_tokens',
    repeatBatches: 0,
  };
  const options = { vocabSize: 200, embeddingDim: 4, hiddenDim: 5, numClasses: 3, dropout: 0 };
  const job = {
    seed: 2,
    model: { name: 'text_classifier', options },
    optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
    sync: 'bsp',
    steps: 3,
    batchSize: 8,
    data,
    cluster: { ps: 2, trainers: 1, workersPerTrainer: 1 },
  };

  it('equal the single-process trainer on the same batches', async () => {
    const coordinator = await Coordinator.start({
      job,
      token: null,
      importModule: () => Promise.reject(new Error('built-in model only')),
      readJson: () => ({}),
    });
    const shards: ParameterServer[] = [];
    const links: RpcClient<typeof coordinatorProtocol>[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const ps = await ParameterServer.start({ token: null });
        const link = new RpcClient({ url: coordinator.url, token: null, protocol: coordinatorProtocol });
        links.push(link);
        const { config } = await link.request('register_ps', { url: ps.url, shard: i, name: null });
        ps.configure(config);
        await link.request('ps_ready', { shard: i, url: ps.url });
        shards.push(ps);
      }
      const trainer = new RpcClient({ url: coordinator.url, token: null, protocol: coordinatorProtocol });
      links.push(trainer);
      const reg = await trainer.request('register_trainer', {});
      const loop = await WorkerLoop.create({
        rank: reg.ranks[0],
        workers: reg.workers,
        job: reg.job,
        shardUrls: reg.shardUrls,
        coordinatorUrl: coordinator.url,
        token: null,
        startStep: reg.startStep,
        epoch: reg.epoch,
      });
      const summary = await loop.run();
      expect(summary.steps).toBe(3);
      const result = await coordinator.result();

      const model = builtinModel('text_classifier', options);
      const local = new LocalTrainer({ model, groups: parseOptimizerGroups(job.optimizers), seed: job.seed });
      const batches = new SyntheticText(data, job.batchSize);
      const losses = [0, 1, 2].map((t) => local.trainStep(batches.slice(t, 0, job.batchSize)));
      expect(
        maxAbsDiff(
          result.losses.map((l) => l ?? Number.NaN),
          losses,
        ),
      ).toBeLessThan(1e-5);
      const state = local.stateDict();
      for (const p of model.dense) expect(maxAbsDiff(result.denseParams[p.name], state[p.name].data)).toBeLessThan(1e-5);
      const client = new PsClient({ shardUrls: reg.shardUrls, token: null, tables: model.tables });
      await client.connect();
      const table = await client.pull(
        'embedding',
        Float64Array.from({ length: 200 }, (_, i) => i),
      );
      await client.close();
      expect(maxAbsDiff(table, state['embedding.weight'].data)).toBeLessThan(1e-5);
    } finally {
      await Promise.all(links.map((l) => l.close()));
      await Promise.all(shards.map((s) => s.close()));
      await coordinator.close();
    }
  });
});
