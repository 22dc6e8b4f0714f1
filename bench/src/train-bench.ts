import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalCluster } from '@rowshard/cli';
import { repoRoot } from '@rowshard/testkit';
import { benchArgs } from './bench-args.js';
import { processCpuMs } from './cpu-time.js';
import { median } from './stats.js';
import {
  type Cost,
  isCost,
  medianCost,
  medianRun,
  type Progress,
  type RowshardRun,
  round,
  WARMUP_BUCKET,
  warmupCurve,
} from './train-costs.js';

/**
 * What the seed text classifier costs to train: 1M rows × dim 64, batch 256, sequence 32,
 * zipf(1.1) token ids, SparseAdam on the table and Adam on the rest, 50 batches cycled (the
 * PyTorch anchor's data). rowshard in BSP and ASP on a real local cluster, and PyTorch with 1
 * and 2 threads on the same model and data in the same run (the project's anchor script
 * torch_textclf_cpu.py, from --anchors; by default the copy beside this checkout).
 *
 * Two numbers per run, over the steady part (after the first third of the steps): examples/s,
 * and CPU milliseconds per 1000 examples, summed
 * over every process (rowshard: coordinator, shards and trainers from /proc; PyTorch:
 * time.process_time()). On a busy machine the first swings, the second holds.
 *
 * rowshard's processes take thousands of steps to reach their steady rate: each run also
 * prints its examples/s over every 500 steps (the warm-up curve). On this 2-core machine
 * (1 PS × 2 workers) ASP goes from about 51k examples/s over steps 0–500 and 67k over
 * 500–1000 to a plateau of 83–87k from about step 2500 (12 s in), BSP from 47k and 59k to
 * 65–69k from about step 2000: V8 tiering up the JavaScript that runs once per step (the
 * trainer still optimizes about a hundred functions per 500 steps until step 2000, per
 * --trace-opt; docs/PERFORMANCE.md, "Steady state"). So the default is 6000 steps, the window from step 2000: the
 * steady rate a long job runs at; the curve shows what a short one gets. PyTorch needs no
 * warm-up beyond the 20 steps its anchor skips.
 *
 * With --repeats n, the four runs (PyTorch 1 and 2 threads, rowshard BSP and ASP) repeat n
 * times, interleaved, and the medians and the median of each repeat's ratio are reported: the
 * machine's speed drifts between runs, and a ratio within one repeat cancels most of it.
 *
 * --prefetch adds, to each repeat, rowshard ASP with sync.prefetch on (a step's pull sent a
 * step ahead, while the worker computes), against the ASP run without it (the default here:
 * 1 PS × 2 workers do not fit 2 CPUs one process a core, fillPrefetch).
 *
 * --rows-baseline adds, to each repeat, rowshard ASP and BSP with sync.poolBags off (every
 * distinct row pulled and pushed, as before bags were pooled on the shards): the same-run
 * baselines of what pooling the sequence means on the shards saves.
 *
 * --count-gc runs every process with --trace-gc and counts the collections of each role
 * (scavenges and mark-compacts) over the whole run: what a step leaves for the garbage
 * collector.
 *
 *   pnpm bench:train [--json] [--repeats 1] [--steps 6000] [--rows 1000000] [--ps 2] [--workers 2]
 *                    [--grid 1x1,1x2,2x2,2x4] [--torch-steps 200] [--anchors DIR] [--count-gc] [--rows-baseline]
 *                    [--node-args=--max-semi-space-size=32]   (flags for every rowshard process)
 */
const { values } = benchArgs('train', {
  options: {
    json: { type: 'boolean', default: false },
    steps: { type: 'string', default: '6000' },
    rows: { type: 'string', default: '1000000' },
    ps: { type: 'string', default: '2' },
    trainers: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    grid: { type: 'string', default: '' },
    repeats: { type: 'string', default: '1' },
    'count-gc': { type: 'boolean', default: false },
    'rows-baseline': { type: 'boolean', default: false },
    prefetch: { type: 'boolean', default: false },
    'node-args': { type: 'string', default: '' },
    'torch-steps': { type: 'string', default: '200' },
    anchors: { type: 'string', default: join(repoRoot, '../shared/anchors') },
  },
  strict: true,
});
const STEPS = Number(values.steps);
const ROWS = Number(values.rows);
const log = (s: string) => {
  if (!values.json) process.stdout.write(`${s}\n`);
};

/** The sync settings a run varies: poolBags (default on) and, in ASP, prefetch (default off). */
interface SyncChoice {
  poolBags?: boolean;
  prefetch?: boolean;
}

const job = (mode: 'bsp' | 'asp', { poolBags = true, prefetch = false }: SyncChoice) => ({
  seed: 0,
  model: { name: 'text_classifier', options: { vocabSize: ROWS, embeddingDim: 64, hiddenDim: 64, numClasses: 2, dropout: 0.1 } },
  optimizers: { embeddings: { kind: 'sparse_adam', lr: 1e-3 }, dense: { kind: 'adam', lr: 1e-3 } },
  sync: { mode, poolBags, ...(mode === 'asp' ? { prefetch } : {}) },
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

interface Sample {
  step: number;
  examples: number;
  at: number;
  cpu: Record<string, number>;
}

async function runRowshard(
  mode: 'bsp' | 'asp',
  ps: number,
  trainers: number,
  workers: number,
  sync: SyncChoice = {},
): Promise<RowshardRun> {
  const samples: Sample[] = [];
  /** The coordinator's progress reports: its rate over each log window, and when each arrived. */
  const reports: Progress[] = [];
  let pids: { role: string; pid: number }[] = [];
  const sample = (step: number, examples: number) => {
    const cpu: Record<string, number> = {};
    for (const p of pids) cpu[p.role] = (cpu[p.role] ?? 0) + processCpuMs(p.pid);
    samples.push({ step, examples, at: performance.now(), cpu });
  };
  const gc: Record<string, { scavenge: number; markCompact: number }> = {};
  const countGc = values['count-gc'] === true;
  const cluster = await startLocalCluster({
    job: job(mode, sync),
    ps,
    trainers,
    workersPerTrainer: workers,
    restart: false,
    nodeArgs: [...String(values['node-args']).split(' ').filter(Boolean), ...(countGc ? ['--trace-gc'] : [])],
    ...(countGc
      ? {
          onLog: (role: string, line: string) => {
            const kind = /Mark-Compact/.test(line) ? 'markCompact' : /Scavenge/.test(line) ? 'scavenge' : null;
            if (!kind) return;
            const key = role.replace(/ \d+$/, '');
            gc[key] ??= { scavenge: 0, markCompact: 0 };
            gc[key][kind]++;
          },
        }
      : {}),
    onEvent: (role, e) => {
      if (role !== 'coordinator' || e.event !== 'progress' || pids.length === 0) return;
      const step = Number(e.step);
      reports.push({ step, rate: Number(e.examplesPerSec), at: performance.now(), examples: Number(e.examples) });
      if (step >= STEPS / 3) sample(step, Number(e.examples));
    },
  });
  pids = [
    { role: 'coordinator', pid: cluster.coordinator.child.pid as number },
    ...cluster.ps.map((p) => ({ role: 'ps', pid: p.child.pid as number })),
    ...cluster.trainers.map((p) => ({ role: 'trainer', pid: p.child.pid as number })),
  ];
  try {
    const result = await cluster.result();
    const first = samples[0];
    const last = samples[samples.length - 1];
    if (!first || last === first) throw new Error('too few progress reports to measure a steady window; raise --steps');
    const examples = last.examples - first.examples;
    const byRole: Record<string, number> = {};
    let cpu = 0;
    for (const role of Object.keys(last.cpu)) {
      const ms = last.cpu[role] - first.cpu[role];
      byRole[role] = round((ms * 1000) / examples);
      cpu += ms;
    }
    const steady = reports.filter((w) => w.step > STEPS / 3).map((w) => w.rate);
    return {
      mode,
      poolBags: sync.poolBags ?? true,
      prefetch: mode === 'asp' && sync.prefetch === true,
      ps,
      workers: trainers * workers,
      examplesPerSec: Math.round(median(steady)),
      cpuMsPerKiloExample: round((cpu * 1000) / examples),
      byRole,
      warmup: warmupCurve(reports, STEPS),
      finalLoss: result.losses.at(-1) ?? null,
      ...(countGc ? { gc } : {}),
    };
  } finally {
    await cluster.stop();
  }
}

function runTorch(threads: number): (Cost & { note?: string }) | { note: string } {
  const anchor = join(String(values.anchors), 'torch_textclf_cpu.py');
  if (!existsSync(anchor)) return { note: `no PyTorch anchor at ${anchor}` };
  try {
    const out = execFileSync('/usr/bin/python3', [anchor, String(ROWS), '64', String(values['torch-steps']), String(threads)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30 * 60_000,
    });
    const r = JSON.parse(out.trim().split('\n').at(-1) as string) as Cost;
    return { examplesPerSec: Math.round(r.examplesPerSec), cpuMsPerKiloExample: round(r.cpuMsPerKiloExample) };
  } catch (e) {
    return { note: `PyTorch run failed (is python3-torch installed?): ${(e as Error).message.split('\n')[0]}` };
  }
}

async function main(): Promise<void> {
  const ps = Number(values.ps);
  const trainers = Number(values.trainers);
  const workers = Number(values.workers);
  log(
    `rowshard bench:train  text classifier ${ROWS} × 64, batch 256, seq 32, zipf(1.1), SparseAdam + Adam, ${STEPS} steps, ${ps} PS × ${trainers * workers} workers`,
  );
  const repeats = Number(values.repeats);
  const runs: {
    torch1: Cost | { note: string };
    torch2: Cost | { note: string };
    bsp: RowshardRun;
    asp: RowshardRun;
    aspRows: RowshardRun | null;
    bspRows: RowshardRun | null;
    aspAhead: RowshardRun | null;
  }[] = [];
  for (let r = 0; r < repeats; r++) {
    const torch1Run = runTorch(1);
    const torch2Run = runTorch(2);
    runs.push({
      torch1: torch1Run,
      torch2: torch2Run,
      bsp: await runRowshard('bsp', ps, trainers, workers),
      asp: await runRowshard('asp', ps, trainers, workers),
      aspRows: values['rows-baseline'] ? await runRowshard('asp', ps, trainers, workers, { poolBags: false }) : null,
      bspRows: values['rows-baseline'] ? await runRowshard('bsp', ps, trainers, workers, { poolBags: false }) : null,
      aspAhead: values.prefetch ? await runRowshard('asp', ps, trainers, workers, { prefetch: true }) : null,
    });
  }
  const torch1 = medianCost(runs.map((r) => r.torch1));
  const torch2 = medianCost(runs.map((r) => r.torch2));
  const bsp = medianRun(runs.map((r) => r.bsp));
  const asp = medianRun(runs.map((r) => r.asp));
  /** A variant's median run over the repeats, and the median of each repeat's `ratio` to that repeat's run of `mode` (ASP unless given). */
  const variant = (
    pick: (r: (typeof runs)[number]) => RowshardRun | null,
    ratio: (v: RowshardRun, a: RowshardRun) => number,
    mode: 'asp' | 'bsp' = 'asp',
  ) => {
    const paired = runs.flatMap((r) => {
      const v = pick(r);
      return v ? [{ v, ratio: ratio(v, r[mode]) }] : [];
    });
    if (paired.length === 0) return { run: null, ratio: null };
    return { run: medianRun(paired.map((p) => p.v)), ratio: Math.round(median(paired.map((p) => p.ratio)) * 100) / 100 };
  };
  // Pooled ASP's CPU per example over ASP pulling rows; ASP with prefetch's examples/s over ASP's.
  const { run: aspRows, ratio: pooledVsRows } = variant(
    (r) => r.aspRows,
    (rows, a) => a.cpuMsPerKiloExample / rows.cpuMsPerKiloExample,
  );
  const { run: bspRows, ratio: bspPooledVsRows } = variant(
    (r) => r.bspRows,
    (rows, b) => b.cpuMsPerKiloExample / rows.cpuMsPerKiloExample,
    'bsp',
  );
  const { run: aspAhead, ratio: prefetchSpeedup } = variant(
    (r) => r.aspAhead,
    (ahead, a) => ahead.examplesPerSec / a.examplesPerSec,
  );
  /** The median over repeats of rowshard's CPU per example over PyTorch's (1 thread) in the same repeat. */
  const pairedRatio = (mode: 'bsp' | 'asp') => {
    const ratios = runs
      .filter((r) => isCost(r.torch1))
      .map((r) => r[mode].cpuMsPerKiloExample / (r.torch1 as Cost).cpuMsPerKiloExample);
    return ratios.length ? Math.round(median(ratios) * 100) / 100 : null;
  };
  const grid: RowshardRun[] = [];
  for (const cell of String(values.grid).split(',').filter(Boolean)) {
    const [p, w] = cell.split('x').map(Number);
    grid.push(await runRowshard('bsp', p, 1, w));
    grid.push(await runRowshard('asp', p, 1, w));
  }
  const torchBest = [torch1, torch2].filter(isCost).sort((a, b) => b.examplesPerSec - a.examplesPerSec)[0] ?? null;
  const cpuRatio = (r: Cost) =>
    isCost(torch1) ? Math.round((r.cpuMsPerKiloExample / torch1.cpuMsPerKiloExample) * 100) / 100 : null;
  const speedRatio = (r: Cost) => (torchBest ? Math.round((r.examplesPerSec / torchBest.examplesPerSec) * 100) / 100 : null);
  const line = (name: string, r: Cost | { note: string }, extra = '') =>
    isCost(r)
      ? `${name.padEnd(22)} ${String(r.examplesPerSec).padStart(8)} ex/s  ${r.cpuMsPerKiloExample.toFixed(1).padStart(7)} CPU ms/1000 ex${extra}`
      : `${name.padEnd(22)} ${r.note}`;
  log(line('PyTorch, 1 thread', torch1));
  log(line('PyTorch, 2 threads', torch2));
  for (const [mode, rows, ratio] of [
    ['ASP', aspRows, pooledVsRows],
    ['BSP', bspRows, bspPooledVsRows],
  ] as const) {
    if (!rows) continue;
    const note = `sync.poolBags off; pooled ${mode} takes ${ratio}× its CPU per example, same repeats`;
    log(
      line(`rowshard ${mode} ${rows.ps}×${rows.workers} rows`, rows, `  (${note}; speed ${speedRatio(rows) ?? '?'}× torch best)`),
    );
  }
  if (aspAhead) {
    log(
      line(
        `rowshard ASP ${aspAhead.ps}×${aspAhead.workers} prefetch`,
        aspAhead,
        `  (sync.prefetch on: ${prefetchSpeedup}× ASP's examples/s, same repeats; final loss ${aspAhead.finalLoss ?? '?'} against ${asp.finalLoss ?? '?'})`,
      ),
    );
  }
  for (const r of [bsp, asp, ...grid]) {
    const roles = Object.entries(r.byRole)
      .map(([role, ms]) => `${role} ${ms}`)
      .join(', ');
    log(
      line(
        `rowshard ${r.mode.toUpperCase()} ${r.ps}×${r.workers}`,
        r,
        `  (${roles}; CPU ${(r === bsp ? pairedRatio('bsp') : r === asp ? pairedRatio('asp') : cpuRatio(r)) ?? '?'}× torch 1 thread, speed ${speedRatio(r) ?? '?'}× torch best)`,
      ),
    );
    if (r === bsp || r === asp) {
      const curves = runs.map((run) => run[r.mode].warmup);
      // Bucket by bucket over the repeats, as far as every repeat's curve reaches.
      const length = Math.min(...curves.map((c) => c.length));
      const medians = Array.from({ length }, (_, i) => Math.round(median(curves.map((c) => c[i]))));
      log(`  warm-up, examples/s per ${WARMUP_BUCKET} steps: ${medians.map((x) => `${Math.round(x / 100) / 10}k`).join(' ')}`);
    }
    if (r.gc) {
      log(
        `  GCs over the run: ${Object.entries(r.gc)
          .map(([role, g]) => `${role} ${g.scavenge} scavenges + ${g.markCompact} mark-compacts`)
          .join(', ')}`,
      );
    }
  }
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        rows: ROWS,
        steps: STEPS,
        torch: { threads1: torch1, threads2: torch2 },
        perRepeat: runs.map((r) => ({ torch1: r.torch1, bsp: r.bsp.cpuMsPerKiloExample, asp: r.asp.cpuMsPerKiloExample })),
        rowshard: {
          bsp,
          asp,
          ...(aspRows ? { aspRows, pooledVsRowsCpu: pooledVsRows } : {}),
          ...(bspRows ? { bspRows, bspPooledVsRowsCpu: bspPooledVsRows } : {}),
          ...(aspAhead ? { aspAhead, prefetchSpeedup } : {}),
        },
        repeats,
        ratios: {
          bspCpuVsTorch1: pairedRatio('bsp'),
          aspCpuVsTorch1: pairedRatio('asp'),
          bspSpeedVsTorchBest: speedRatio(bsp),
          aspSpeedVsTorchBest: speedRatio(asp),
        },
        grid,
      })}\n`,
    );
  }
}

main().catch((e) => {
  process.stderr.write(`bench:train failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
