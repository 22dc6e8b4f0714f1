import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster } from '@rowshard/cli';
import { parseDataSpec } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { SyntheticCtr } from '@rowshard/trainer';
import { benchArgs } from './bench-args.js';

/**
 * The ctr model on click-through data in Criteo's layout, rowshard against PyTorch 1.13 in the
 * same run (bench/baselines/torch_ctr.py: the same architecture, nn.EmbeddingBag per feature
 * with ids hashed modulo the table size). The data is made here by the synthetic_ctr generator
 * (planted signal) and written as Criteo TSV (13 integer columns, 26 hex ids of 64 bits), a
 * training file and a held-out file that both systems read. rowshard trains through real
 * processes (coordinator, PS, trainer workers; BSP) on hashed tables keyed by the raw 64-bit
 * ids; PyTorch in one process at 1 and 2 threads. Printed: examples/s of training, held-out
 * ROC AUC and log-loss, and rowshard's ratios to PyTorch (examples/s: to its faster thread
 * count).
 *
 *   pnpm bench:ctr [--steps 300] [--batch 1024] [--ps 1] [--workers 2] [--json]
 */
const { values } = benchArgs('ctr', {
  options: {
    steps: { type: 'string', default: '300' },
    batch: { type: 'string', default: '1024' },
    'test-examples': { type: 'string', default: '32768' },
    vocab: { type: 'string', default: '200000' },
    'table-size': { type: 'string', default: '1000000' },
    ps: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const STEPS = Number(values.steps);
const BATCH = Number(values.batch);
const TEST = Number(values['test-examples']);
const NUM_DENSE = 13;
const NUM_CAT = 26;
const DIM = 16;
const HIDDEN = 64;
const EMB_LR = 0.05;
const DENSE_LR = 0.001;
const SEED = 1;
const log = (s: string) => {
  if (!values.json) process.stdout.write(`${s}\n`);
};

/** Examples [0, n) of the generator as Criteo TSV: dense x in [-1, 1) written as the integer floor(100 (x + 1)). */
async function writeTsv(path: string, seed: number, n: number): Promise<void> {
  const spec = parseDataSpec({ kind: 'synthetic_ctr', vocabSize: Number(values.vocab), seed }) as Extract<
    ReturnType<typeof parseDataSpec>,
    { kind: 'synthetic_ctr' }
  >;
  const source = new SyntheticCtr(spec, 4096);
  const out = createWriteStream(path);
  for (let step = 0; step * 4096 < n; step++) {
    const size = Math.min(4096, n - step * 4096);
    const b = source.slice(step, 0, size);
    const dense = b.values?.[0].data as Float32Array;
    const words = b.inputs.map((t) => new Uint32Array((t.data as BigUint64Array).buffer));
    let text = '';
    for (let e = 0; e < size; e++) {
      const cols = [String(b.target[e])];
      for (let j = 0; j < NUM_DENSE; j++) cols.push(String(Math.floor(100 * (dense[e * NUM_DENSE + j] + 1))));
      for (const w of words) cols.push(w[2 * e + 1].toString(16).padStart(8, '0') + w[2 * e].toString(16).padStart(8, '0'));
      text += `${cols.join('\t')}\n`;
    }
    if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

interface Outcome {
  readonly examplesPerSec: number;
  readonly auc: number;
  readonly logLoss: number;
}

async function runRowshard(train: string, test: string): Promise<Outcome> {
  const data = { kind: 'ctr_file', format: 'criteo', numDense: NUM_DENSE, numCategorical: NUM_CAT };
  const evalBatch = 4096;
  const job = {
    seed: SEED,
    model: {
      name: 'ctr',
      options: {
        numDense: NUM_DENSE,
        numCategorical: NUM_CAT,
        embeddingDim: DIM,
        hiddenDim: HIDDEN,
        tableSize: Number(values['table-size']),
      },
    },
    optimizers: { embeddings: { kind: 'adagrad', lr: EMB_LR }, dense: { kind: 'adam', lr: DENSE_LR } },
    sync: 'bsp',
    steps: STEPS,
    batchSize: BATCH,
    data: { ...data, path: train },
    eval: {
      data: { ...data, path: test },
      everySteps: null,
      batches: TEST / evalBatch,
      batchSize: evalBatch,
      finalBatches: TEST / evalBatch,
    },
    logEverySteps: 50,
  };
  const cluster = await startLocalCluster({ job, ps: Number(values.ps), trainers: 1, workersPerTrainer: Number(values.workers) });
  try {
    const result = await cluster.result();
    const last = result.evals.at(-1);
    if (!last || last.auc == null) throw new Error('rowshard reported no held-out AUC');
    if (last.examples !== TEST) throw new Error(`rowshard evaluated ${last.examples} examples, not ${TEST}`);
    return { examplesPerSec: result.examples / result.seconds, auc: last.auc, logLoss: last.loss };
  } finally {
    await cluster.stop();
  }
}

function runTorch(train: string, test: string, threads: number): Outcome {
  const script = join(repoRoot, 'bench/baselines/torch_ctr.py');
  const args = [NUM_DENSE, NUM_CAT, values['table-size'], DIM, HIDDEN, BATCH, STEPS, EMB_LR, DENSE_LR, threads, SEED];
  const out = execFileSync('/usr/bin/python3', [script, train, test, ...args.map(String)], {
    encoding: 'utf8',
    timeout: 30 * 60_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Outcome;
}

const dir = mkdtempSync(join(tmpdir(), 'rowshard-ctr-bench-'));
try {
  const train = join(dir, 'train.tsv');
  const test = join(dir, 'test.tsv');
  log(`data: ${STEPS * BATCH} training and ${TEST} held-out examples, 13 dense + 26 categorical (64-bit ids), Criteo TSV`);
  await writeTsv(train, 1, STEPS * BATCH);
  await writeTsv(test, 2, TEST);
  const rowshard = await runRowshard(train, test);
  const torch1 = runTorch(train, test, 1);
  const torch2 = runTorch(train, test, 2);
  const best = torch1.examplesPerSec >= torch2.examplesPerSec ? torch1 : torch2;
  const fmt = (o: Outcome) =>
    `${Math.round(o.examplesPerSec).toLocaleString('en-US')} examples/s, AUC ${o.auc.toFixed(4)}, log-loss ${o.logLoss.toFixed(4)}`;
  log(`rowshard (${values.ps} PS × ${values.workers} workers, BSP): ${fmt(rowshard)}`);
  log(`PyTorch 1 thread:  ${fmt(torch1)}`);
  log(`PyTorch 2 threads: ${fmt(torch2)}`);
  const ratios = {
    examplesPerSec: rowshard.examplesPerSec / best.examplesPerSec,
    auc: rowshard.auc / torch1.auc,
    logLoss: rowshard.logLoss / torch1.logLoss,
  };
  log(
    `ratios (rowshard / PyTorch): examples/s ${ratios.examplesPerSec.toFixed(2)}× (to its faster thread count), AUC ${ratios.auc.toFixed(3)}, log-loss ${ratios.logLoss.toFixed(3)}`,
  );
  if (values.json) process.stdout.write(`${JSON.stringify({ rowshard, torch1, torch2, ratios })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
