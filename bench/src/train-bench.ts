import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalCluster } from '@rowshard/cli';
import { repoRoot } from '@rowshard/testkit';
import { median } from './stats.js';

/**
 * End-to-end training throughput of the seed text classifier at 1M rows × dim 64, batch 256,
 * sequence 32, zipf(1.1) token ids, SparseAdam on the table and Adam on the rest: BSP and
 * ASP on a real local cluster (2 PS × 2 workers), and PyTorch on the same model and data
 * shape in the same run (the project's PyTorch anchor script, given with --anchor; by default
 * the copy beside this checkout), sparse and dense Adam, as ratios.
 *
 *   pnpm bench:train [--json] [--steps 300] [--rows 1000000] [--ps 2] [--workers 2]
 */
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    steps: { type: 'string', default: '300' },
    rows: { type: 'string', default: '1000000' },
    ps: { type: 'string', default: '2' },
    trainers: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    'torch-steps': { type: 'string', default: '200' },
    anchor: { type: 'string', default: join(repoRoot, '../shared/anchors/torch_textclf.py') },
  },
  strict: true,
});
const STEPS = Number(values.steps);
const ROWS = Number(values.rows);
const log = (s: string) => {
  if (!values.json) process.stdout.write(`${s}\n`);
};

const job = (mode: 'bsp' | 'asp') => ({
  seed: 0,
  model: { name: 'text_classifier', options: { vocabSize: ROWS, embeddingDim: 64, hiddenDim: 64, numClasses: 2, dropout: 0.1 } },
  optimizers: { embeddings: { kind: 'sparse_adam', lr: 1e-3 }, dense: { kind: 'adam', lr: 1e-3 } },
  sync: mode,
  steps: STEPS,
  batchSize: 256,
  // The anchor's data: zipf(1.1) ids, label = parity of the first token, 50 batches cycled.
  data: {
    kind: 'synthetic_text',
    vocabSize: ROWS,
    seqLen: 32,
    numClasses: 2,
    zipfS: 1.1,
    seed: 1,
    rule: 'first_token_parity',
    repeatBatches: 50,
  },
  logEverySteps: 10,
});

interface RunResult {
  examplesPerSec: number;
  overallExamplesPerSec: number;
  finalLoss: number;
}

/** Median examples/s over the progress windows of the second half (first touches done). */
async function runRowshard(mode: 'bsp' | 'asp'): Promise<RunResult> {
  const windows: { step: number; rate: number }[] = [];
  const cluster = await startLocalCluster({
    job: job(mode),
    ps: Number(values.ps),
    trainers: Number(values.trainers),
    workersPerTrainer: Number(values.workers),
    onEvent: (role, e) => {
      if (role === 'coordinator' && e.event === 'progress')
        windows.push({ step: Number(e.step), rate: Number(e.examplesPerSec) });
    },
  });
  try {
    const result = await cluster.result();
    const steady = windows.filter((w) => w.step > STEPS / 2).map((w) => w.rate);
    return {
      examplesPerSec: median(steady.length ? steady : windows.map((w) => w.rate)),
      overallExamplesPerSec: result.examples / result.seconds,
      finalLoss: result.losses.at(-1) ?? Number.NaN,
    };
  } finally {
    await cluster.stop();
  }
}

function runTorch(): { sparse: number | null; dense: number | null; note: string } {
  const anchor = String(values.anchor);
  if (!existsSync(anchor)) return { sparse: null, dense: null, note: `no PyTorch anchor at ${anchor}` };
  try {
    const out = execFileSync('/usr/bin/python3', [anchor, String(ROWS), '64', String(values['torch-steps']), '2'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30 * 60_000,
    });
    const rate = (kind: string) => {
      const m = new RegExp(`${kind}.*?: (\\d+) examples/s`).exec(out);
      return m ? Number(m[1]) : null;
    };
    return { sparse: rate('sparse SparseAdam'), dense: rate('dense Adam'), note: out.trim().split('\n').join(' | ') };
  } catch (e) {
    return {
      sparse: null,
      dense: null,
      note: `PyTorch run failed (is python3-torch installed?): ${(e as Error).message.split('\n')[0]}`,
    };
  }
}

async function main(): Promise<void> {
  log(
    `rowshard bench:train  text classifier ${ROWS} × 64, batch 256, seq 32, zipf(1.1), SparseAdam + Adam, ${STEPS} steps, ${values.ps} PS × ${Number(values.trainers) * Number(values.workers)} workers`,
  );
  const torch = runTorch();
  log(`PyTorch (2 threads): ${torch.note}`);
  const bsp = await runRowshard('bsp');
  const asp = await runRowshard('asp');
  const ratio = (x: number) => (torch.sparse ? `${(x / torch.sparse).toFixed(2)}× torch SparseAdam` : 'no torch baseline');
  log(
    `rowshard BSP: ${bsp.examplesPerSec.toFixed(0)} examples/s steady (${bsp.overallExamplesPerSec.toFixed(0)} overall), ${ratio(bsp.examplesPerSec)}, final loss ${bsp.finalLoss.toFixed(4)}`,
  );
  log(
    `rowshard ASP: ${asp.examplesPerSec.toFixed(0)} examples/s steady (${asp.overallExamplesPerSec.toFixed(0)} overall), ${ratio(asp.examplesPerSec)}, final loss ${asp.finalLoss.toFixed(4)}`,
  );
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        rows: ROWS,
        steps: STEPS,
        ps: Number(values.ps),
        workers: Number(values.trainers) * Number(values.workers),
        bspExamplesPerSec: Math.round(bsp.examplesPerSec),
        aspExamplesPerSec: Math.round(asp.examplesPerSec),
        bspOverallExamplesPerSec: Math.round(bsp.overallExamplesPerSec),
        aspOverallExamplesPerSec: Math.round(asp.overallExamplesPerSec),
        torchSparseExamplesPerSec: torch.sparse,
        torchDenseExamplesPerSec: torch.dense,
        bspVsTorchSparse: torch.sparse ? Number((bsp.examplesPerSec / torch.sparse).toFixed(3)) : null,
        aspVsTorchSparse: torch.sparse ? Number((asp.examplesPerSec / torch.sparse).toFixed(3)) : null,
      })}\n`,
    );
  }
}

main().catch((e) => {
  process.stderr.write(`bench:train failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
