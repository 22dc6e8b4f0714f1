import { copyRow, defaultRequestLimits, parseSparseOptimizerConfig, sparseRowOptimizer, tableSpec } from '@rowshard/core';
import { PsService } from '@rowshard/ps';
import { type PsCluster, startPsProcesses } from '@rowshard/testkit';
import { PsClient } from '@rowshard/trainer';
import { roleCredential } from '@rowshard/transport';
import { benchArgs } from './bench-args.js';
import { type RequestCost, requestCost } from './request-cost.js';
import { fmt, median, percentile, xorshift, zipfBatch } from './stats.js';

/**
 * Parameter-server throughput on loopback: real PS processes, the trainer's PsClient, a
 * 1M-row table. Beside it, the same gather and scatter on a Float32Array in this process
 * (the baseline every ratio is against), and the bytes per row a PS really holds once every
 * row is materialised, against the floor 4·dim·(1 + optimizer slots).
 *
 *   pnpm bench:ps [--json] [--rows 1000000] [--dim 64] [--batch 8192] [--requests 300] [--concurrency 4]
 */
const { values } = benchArgs('ps', {
  options: {
    json: { type: 'boolean', default: false },
    rows: { type: 'string', default: '1000000' },
    dim: { type: 'string', default: '64' },
    batch: { type: 'string', default: '8192' },
    requests: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '4' },
    shards: { type: 'string', default: '1,2' },
    repeats: { type: 'string', default: '3' },
  },
  strict: true,
});
const ROWS = Number(values.rows);
const DIM = Number(values.dim);
const BATCH = Number(values.batch);
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const REPEATS = Number(values.repeats);
const SHARD_COUNTS = String(values.shards).split(',').map(Number);
const OPTIMIZER = { kind: 'adagrad', lr: 0.01 } as const;
const SLOTS = 1; // Adagrad keeps one accumulator per weight
/** The least memory a row can take: its weights and its slots as float32, nothing else. */
const FLOOR_BYTES_PER_ROW = 4 * DIM * (1 + SLOTS);
const TOKEN = 'bench-cluster-token';
const log = (s: string) => {
  if (!values.json) process.stdout.write(`${s}\n`);
};

const rand = xorshift(42);
// Each request: the distinct ids of BATCH zipf(1.1) lookups (~3.1k of 8192), as a trainer sends them.
const batches = Array.from({ length: 64 }, () => zipfBatch(ROWS, BATCH, 1.1, rand));
const meanDistinct = batches.reduce((a, b) => a + b.length, 0) / batches.length;
const gradBatches = batches.map((b) => new Float32Array(b.length * DIM).map(() => rand() - 0.5));

interface Phase {
  rowsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `requests` operations, `concurrency` at a time; throughput and per-request latency. */
async function measure(op: (i: number) => Promise<unknown>): Promise<Phase> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const t0 = performance.now();
        await op(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const rowsPerSec = (REQUESTS * meanDistinct) / seconds;
  return {
    rowsPerSec,
    mbPerSec: (rowsPerSec * DIM * 4) / 1e6,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

function bestOf(phases: Phase[]): Phase {
  // Median run by throughput: shared machines are noisy.
  const sorted = [...phases].sort((a, b) => a.rowsPerSec - b.rowsPerSec);
  return sorted[Math.floor(sorted.length / 2)];
}

interface ShardResult {
  shards: number;
  pull: Phase;
  push: Phase;
  materialiseSeconds: number;
  bytesPerRow: number;
  accountedBytesPerRow: number;
}

async function runCluster(numShards: number): Promise<ShardResult> {
  const spec = { name: 'emb', numEmbeddings: ROWS, embeddingDim: DIM };
  let cluster: PsCluster | null = null;
  let client: PsClient | null = null;
  try {
    cluster = await startPsProcesses({
      numShards,
      tables: [{ spec, optimizer: OPTIMIZER }],
      token: TOKEN,
      nodeArgs: ['--expose-gc'],
    });
    client = new PsClient({ shardUrls: cluster.urls, token: roleCredential(TOKEN, 'trainer'), tables: [tableSpec(spec)] });
    await client.connect();
    const memoryOf = async () => {
      const stats = await client!.stats({ gc: true });
      return stats.map((s) => s.memory as { arrayBuffers: number; heapUsed: number; rss: number });
    };
    const before = await memoryOf();
    const t0 = performance.now();
    const chunk = 8192; // small frames: transport buffers grow to the largest frame seen
    for (let start = 0; start < ROWS; start += chunk) {
      const ids = new Uint32Array(Math.min(chunk, ROWS - start)).map((_, i) => start + i);
      await client.pull('emb', ids);
    }
    const materialiseSeconds = (performance.now() - t0) / 1000;
    const after = await memoryOf();
    const stats = await client.stats();
    // Resident memory, not the JS heap: rows live in WebAssembly memory, which neither
    // heapUsed nor arrayBuffers counts.
    const grown = after.reduce((a, m, i) => a + (m.rss - before[i].rss), 0);
    const accounted = stats.reduce((a, s) => a + Number(s.bytesUsed), 0);
    for (let i = 0; i < 20; i++) await client.pull('emb', batches[i % batches.length]);
    const pulls: Phase[] = [];
    const pushes: Phase[] = [];
    for (let r = 0; r < REPEATS; r++) {
      pulls.push(await measure((i) => client!.pull('emb', batches[i % batches.length])));
      pushes.push(
        await measure((i) =>
          client!.push('emb', batches[i % batches.length], gradBatches[i % batches.length], { lr: 0.01, step: 1 }),
        ),
      );
    }
    return {
      shards: numShards,
      pull: bestOf(pulls),
      push: bestOf(pushes),
      materialiseSeconds,
      bytesPerRow: grown / ROWS,
      accountedBytesPerRow: accounted / ROWS,
    };
  } finally {
    await client?.close();
    await cluster?.stop();
  }
}

/**
 * The baseline: the same work with no PS and no network. Gather copies the same rows out of
 * one Float32Array with the same copyRow the PS uses; scatter applies the same Adagrad kernel
 * from core to the same rows of a flat table and its state.
 */
function baseline(): { gatherRowsPerSec: number; scatterRowsPerSec: number } {
  const table = new Float32Array(ROWS * DIM).map(() => rand());
  const runs = (fn: (i: number) => void) => {
    const rates: number[] = [];
    for (let r = 0; r < REPEATS + 2; r++) {
      const t0 = performance.now();
      for (let i = 0; i < REQUESTS; i++) fn(i);
      rates.push((REQUESTS * meanDistinct) / ((performance.now() - t0) / 1000));
    }
    return median(rates.slice(2));
  };
  const out = new Float32Array(BATCH * DIM);
  const gatherRowsPerSec = runs((i) => {
    const ids = batches[i % batches.length];
    for (let k = 0; k < ids.length; k++) copyRow(table, ids[k] * DIM, out, k * DIM, DIM);
  });
  const optimizer = sparseRowOptimizer(parseSparseOptimizerConfig(OPTIMIZER), DIM);
  const state = new Float32Array(ROWS * optimizer.stateFloatsPerRow);
  const scatterRowsPerSec = runs((i) => {
    const ids = batches[i % batches.length];
    const grads = gradBatches[i % batches.length];
    const ctx = { lr: OPTIMIZER.lr, step: 1 };
    for (let k = 0; k < ids.length; k++) {
      optimizer.updateRow(table, ids[k] * DIM, state, ids[k] * optimizer.stateFloatsPerRow, grads, k * DIM, ctx);
    }
  });
  return { gatherRowsPerSec, scatterRowsPerSec };
}

/** A shard's service in this process: one table `emb` of ROWS × DIM, with `kind` at lr 0.01. */
function inProcessShard(kind: 'sparse_adam' | 'adagrad'): PsService {
  return new PsService({
    shard: 0,
    numShards: 1,
    seed: 1,
    tables: [
      {
        spec: tableSpec({ name: 'emb', numEmbeddings: ROWS, embeddingDim: DIM }),
        optimizer: parseSparseOptimizerConfig({ kind, lr: 0.01 }),
      },
    ],
  });
}

/**
 * How long one request at the default limits (limits.maxRequestRows rows of this dim, at most
 * limits.maxRequestBytes of rows) holds a shard's event loop: the pull, push (SparseAdam and
 * Adagrad) and load a shard runs for it, in this process, on materialised rows. Median of 7.
 */
function largestRequest(): { rows: number; pullMs: number; pushAdamMs: number; pushAdagradMs: number; loadMs: number } {
  const rows = Math.min(defaultRequestLimits.maxRows, Math.floor(defaultRequestLimits.maxBytes / (4 * DIM)));
  const ids = Uint32Array.from({ length: rows }, (_, i) => (i * 7919) % ROWS);
  const grads = new Float32Array(rows * DIM).map(() => rand() - 0.5);
  const timed = (fn: (step: number) => void) => {
    const ms: number[] = [];
    for (let r = 0; r < 9; r++) {
      const t0 = performance.now();
      fn(r + 1);
      ms.push(performance.now() - t0);
    }
    return median(ms.slice(2));
  };
  const adam = inProcessShard('sparse_adam');
  const adagrad = inProcessShard('adagrad');
  const pullMs = timed(() => adam.pull([{ table: 'emb', ids }]));
  const pushAdamMs = timed((step) => adam.push([{ table: 'emb', ids, grads, lr: 0.01, step }]));
  const pushAdagradMs = timed((step) => adagrad.push([{ table: 'emb', ids, grads, lr: 0.01, step }]));
  const loadMs = timed(() => adam.load([{ table: 'emb', ids, rows: grads }]));
  return { rows, pullMs, pushAdamMs, pushAdagradMs, loadMs };
}

/**
 * A pooled push (sync.poolBags: one gradient row per bag, fastText's shape) as a shard applies
 * it: as it came (ASP, SSP: its rows summed in the shard's memory) against turned into the push
 * of its rows first (rowsOfPush, what BSP's aggregator takes), in this process, on two shards
 * alike, alternated; 64 bags over BATCH zipf lookups each. Median ms per push.
 */
function pooledPush(): { bags: number; positions: number; asItCameMs: number; asRowsMs: number } {
  const bagCount = 64;
  const parts = Array.from({ length: 16 }, () => {
    const ids = Uint32Array.from({ length: BATCH }, () => Math.floor(ROWS * rand() ** 3));
    const bags = Int32Array.from({ length: BATCH }, (_, p) => Math.floor((p * bagCount) / BATCH));
    return { table: 'emb', ids, bags, bagCount, grads: new Float32Array(bagCount * DIM).map(() => rand() - 0.5), lr: 0.01 };
  });
  const direct = inProcessShard(OPTIMIZER.kind);
  const viaRows = inProcessShard(OPTIMIZER.kind);
  const asItCame: number[] = [];
  const asRows: number[] = [];
  for (let round = 0; round < 9; round++) {
    for (const [service, ms, convert] of [
      [direct, asItCame, false],
      [viaRows, asRows, true],
    ] as const) {
      const t0 = performance.now();
      for (const [i, part] of parts.entries()) {
        const step = { ...part, step: round * parts.length + i + 1 };
        service.push(convert ? service.rowsOfPush([step]) : [step]);
      }
      ms.push((performance.now() - t0) / parts.length);
    }
  }
  return { bags: bagCount, positions: BATCH, asItCameMs: median(asItCame.slice(2)), asRowsMs: median(asRows.slice(2)) };
}

/**
 * A pooled pull in the text classifier's shape on one of two shards (256 sequences, 16 of each
 * one's 32 zipf lookups): summed in position order (ASP, SSP) against the id tree's order
 * (BSP: sync.poolBags on 1, 2, 4, 8 or 16 shards), on one shard in this process, alternated.
 * Median µs per pull.
 */
function pooledPull(): { bags: number; positions: number; positionOrderUs: number; idTreeUs: number } {
  const bagCount = 256;
  const perBag = 16;
  const shard = new PsService({
    shard: 0,
    numShards: 2,
    seed: 7,
    tables: [
      {
        spec: tableSpec({ name: 'emb', numEmbeddings: ROWS, embeddingDim: DIM }),
        optimizer: parseSparseOptimizerConfig(OPTIMIZER),
      },
    ],
  });
  const parts = Array.from({ length: 16 }, () => ({
    table: 'emb',
    // Shard 0 of 2 holds the even ids.
    ids: Uint32Array.from({ length: bagCount * perBag }, () => 2 * Math.floor((ROWS / 2) * rand() ** 3)),
    bags: Int32Array.from({ length: bagCount * perBag }, (_, p) => Math.floor(p / perBag)),
    bagCount,
  }));
  const positionOrder: number[] = [];
  const idTree: number[] = [];
  for (let round = 0; round < 15; round++) {
    for (const [us, tree] of [
      [positionOrder, false],
      [idTree, true],
    ] as const) {
      const t0 = performance.now();
      for (const part of parts) shard.pull([tree ? { ...part, idTree: true } : part]);
      us.push(((performance.now() - t0) * 1000) / parts.length);
    }
  }
  return {
    bags: bagCount,
    positions: bagCount * perBag,
    positionOrderUs: median(positionOrder.slice(3)),
    idTreeUs: median(idTree.slice(3)),
  };
}

async function main(): Promise<void> {
  log(
    `rowshard bench:ps  rows=${fmt(ROWS)} dim=${DIM} ${BATCH} zipf(1.1) lookups → ${meanDistinct.toFixed(0)} distinct rows/request, ${REQUESTS} requests × ${REPEATS}, ${CONCURRENCY} in flight, Adagrad`,
  );
  const base = baseline();
  log(
    `baseline (in process, one Float32Array, same copyRow and Adagrad kernel): gather ${fmt(base.gatherRowsPerSec)} rows/s, scatter ${fmt(base.scatterRowsPerSec)} rows/s`,
  );
  const results: ShardResult[] = [];
  for (const n of SHARD_COUNTS) {
    const r = await runCluster(n);
    results.push(r);
    log(
      `${n} PS: pull ${fmt(r.pull.rowsPerSec)} rows/s (${fmt(r.pull.mbPerSec)} MB/s, p50 ${r.pull.p50Ms.toFixed(2)} ms, p99 ${r.pull.p99Ms.toFixed(2)} ms, ${(r.pull.rowsPerSec / base.gatherRowsPerSec).toFixed(2)}× baseline gather)`,
    );
    log(
      `      push ${fmt(r.push.rowsPerSec)} rows/s (${fmt(r.push.mbPerSec)} MB/s, p50 ${r.push.p50Ms.toFixed(2)} ms, p99 ${r.push.p99Ms.toFixed(2)} ms, ${(r.push.rowsPerSec / base.scatterRowsPerSec).toFixed(2)}× baseline scatter)`,
    );
    log(
      `      memory at ${fmt(ROWS)} rows: ${r.bytesPerRow.toFixed(1)} B/row measured (${r.accountedBytesPerRow.toFixed(1)} accounted), floor ${FLOOR_BYTES_PER_ROW} B/row (+${((r.bytesPerRow / FLOOR_BYTES_PER_ROW - 1) * 100).toFixed(1)}%); materialised in ${r.materialiseSeconds.toFixed(2)} s`,
    );
  }
  const largest = largestRequest();
  log(
    `largest request at the default limits (${fmt(largest.rows)} rows × dim ${DIM}), in process: pull ${largest.pullMs.toFixed(1)} ms, push SparseAdam ${largest.pushAdamMs.toFixed(1)} ms, push Adagrad ${largest.pushAdagradMs.toFixed(1)} ms, load ${largest.loadMs.toFixed(1)} ms`,
  );
  const pooled = pooledPush();
  log(
    `pooled push (${pooled.bags} bags over ${fmt(pooled.positions)} zipf lookups, Adagrad), in process: as it came ${pooled.asItCameMs.toFixed(2)} ms, turned into rows first ${pooled.asRowsMs.toFixed(2)} ms (${(pooled.asItCameMs / pooled.asRowsMs).toFixed(2)}×)`,
  );
  const pull = pooledPull();
  log(
    `pooled pull (${pull.bags} bags over ${fmt(pull.positions)} zipf lookups, one of 2 shards), in process: position order ${pull.positionOrderUs.toFixed(0)} µs, id tree ${pull.idTreeUs.toFixed(0)} µs (${(pull.idTreeUs / pull.positionOrderUs).toFixed(2)}×)`,
  );
  const cost = await requestCost({ dim: DIM, optimizer: OPTIMIZER, token: TOKEN, repeats: REPEATS });
  const perSide = (c: RequestCost) => `client ${c.clientUs} µs + shard ${c.serverUs} µs`;
  const times = (c: RequestCost, b: RequestCost) => ((c.clientUs + c.serverUs) / (b.clientUs + b.serverUs)).toFixed(2);
  log(
    `one request of ${cost.rows} rows, one in flight, CPU per request: pull ${perSide(cost.pull)}, ${times(cost.pull, cost.barePull)}× a bare WebSocket round trip of its sizes (${perSide(cost.barePull)}); push ${perSide(cost.push)}, ${times(cost.push, cost.barePush)}× (${perSide(cost.barePush)})`,
  );
  const one = results.find((r) => r.shards === 1) ?? results[0];
  const summary = {
    rows: ROWS,
    dim: DIM,
    lookupsPerRequest: BATCH,
    distinctRowsPerRequest: Math.round(meanDistinct),
    optimizer: OPTIMIZER.kind,
    pullRowsPerSec: Math.round(one.pull.rowsPerSec),
    pushRowsPerSec: Math.round(one.push.rowsPerSec),
    pullMBPerSec: Number(one.pull.mbPerSec.toFixed(1)),
    pushMBPerSec: Number(one.push.mbPerSec.toFixed(1)),
    pullP50Ms: Number(one.pull.p50Ms.toFixed(3)),
    pullP99Ms: Number(one.pull.p99Ms.toFixed(3)),
    pushP50Ms: Number(one.push.p50Ms.toFixed(3)),
    pushP99Ms: Number(one.push.p99Ms.toFixed(3)),
    baselineGatherRowsPerSec: Math.round(base.gatherRowsPerSec),
    baselineScatterRowsPerSec: Math.round(base.scatterRowsPerSec),
    pullVsBaseline: Number((one.pull.rowsPerSec / base.gatherRowsPerSec).toFixed(3)),
    bytesPerRow: Number(one.bytesPerRow.toFixed(1)),
    accountedBytesPerRow: Number(one.accountedBytesPerRow.toFixed(1)),
    floorBytesPerRow: FLOOR_BYTES_PER_ROW,
    largestRequest: largest,
    pooledPush: pooled,
    pooledPull: pull,
    requestCost: cost,
    byShards: results.map((r) => ({
      shards: r.shards,
      pullRowsPerSec: Math.round(r.pull.rowsPerSec),
      pushRowsPerSec: Math.round(r.push.rowsPerSec),
      pullP50Ms: Number(r.pull.p50Ms.toFixed(3)),
      pullP99Ms: Number(r.pull.p99Ms.toFixed(3)),
      pushP50Ms: Number(r.push.p50Ms.toFixed(3)),
      pushP99Ms: Number(r.push.p99Ms.toFixed(3)),
      bytesPerRow: Number(r.bytesPerRow.toFixed(1)),
    })),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:ps failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
