import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { benchArgs } from './bench-args.js';
import { endedChildrenCpuMs } from './cpu-time.js';
import { scaleReport } from './fasttext-scale.js';
import { useReport } from './fasttext-use.js';
import { median, timed } from './stats.js';
import { pairCosines, readVec, spearman } from './vector-agreement.js';

/**
 * rowshard supervised against real fastText 0.9.2 (`apt-get install fasttext`) on a real
 * corpus: Debian's fortune files, 32 categories (bench/corpus/make_fortunes.py; needs
 * `apt-get install fortunes fortunes-min`). Same split, same files, the same number of
 * threads; held-out P@1 (each system's own `test`) and wall time of training, model files
 * included, each setting in the same run:
 *
 * - fastText at its defaults, and swept over -lr × -epoch × -wordNgrams for its best P@1;
 * - rowshard at its defaults, at fastText's best settings (-epoch, -wordNgrams; -lr means
 *   another optimizer's rate, so rowshard keeps its own), and over a small sweep of its own;
 * - the fastest rowshard run that reaches fastText's best P@1 (within 0.005), against the
 *   fastest fastText run that reaches it (the same 0.005: one run's P@1 moves by about that
 *   much from run to run, and a longer setting that wins by less is not faster to the P@1);
 * - each loss (-loss softmax|ns|hs|ova) at the same fastText flags for both (-epoch 10
 *   -wordNgrams 2), each system at its best of two rates for the loss (fastText 0.5 and 1.0,
 *   its best in the sweep; at its default 0.1 it underfits by 11 to 20 points; rowshard's
 *   default optimizer for the loss, row-wise Adagrad or with ova Adagrad, at 0.2 and 0.5).
 *
 * - word vectors: skipgram by both on the corpus's text (labels left out) at the same flags,
 *   and the Spearman rank correlation of the cosine similarities of every pair of the 2,000
 *   most frequent words, rowshard's against fastText's; beside it, fastText's against a second
 *   fastText run (its threads make every run differ), the agreement to expect.
 *
 * - race: the sweep's two answers against each other, three rounds in alternation: fastText
 *   at its best settings (-lr 1.0 -epoch 10 -wordNgrams 2) and rowshard at its fastest settings
 *   that reach that P@1 (-epoch 1 -wordNgrams 2), with the same -thread and with none (its own
 *   cluster for the machine's CPUs): median wall time (model files included), CPU time (every
 *   process and thread) and P@1 of each, and the ratios. With --scratch DIR the model files go there (e.g. /dev/shm,
 *   leaving the disk's write speed out: an 800 MB .bin is written by both).
 *
 * - placement: rowshard's output matrix as a dense parameter (the default) and as a table on
 *   the parameter servers (`-outputMatrix dense|table`), the same flags, three rounds each in
 *   alternation: median training wall time and P@1.
 *
 * - use: `test` and `predict` of the held-out lines by both, on one model, three rounds in
 *   alternation: median wall and CPU time, and the ratios.
 *
 * - scale: one epoch over a larger corpus, the training file repeated --copies times (20: 44 MB,
 *   232k lines, written to --scratch), fastText at -lr 1.0 and rowshard at its defaults, both
 *   -wordNgrams 2, rowshard with its own cluster, two rounds in alternation: wall time, CPU time
 *   and examples a second. The fortunes race is won by training less (one epoch of Adagrad
 *   against fastText's ten of SGD); this is the cost of an example, where fastText's C++ threads
 *   are ahead.
 *
 *   pnpm bench:fasttext [--json] [--corpus /tmp/rowshard-fortunes] [--threads N]
 *                      [--only sweep|losses|vectors|race|use|placement|scale] [--scratch DIR] [--copies 20]
 */
const { values } = benchArgs('fasttext', {
  options: {
    json: { type: 'boolean', default: false },
    corpus: { type: 'string', default: join(tmpdir(), 'rowshard-fortunes') },
    threads: { type: 'string', default: String(availableParallelism()) },
    only: { type: 'string' },
    scratch: { type: 'string', default: tmpdir() },
    copies: { type: 'string', default: '20' },
  },
  strict: true,
});
const corpus = String(values.corpus);
const threads = String(values.threads);
const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const log = (s: string) => {
  if (!values.json) process.stdout.write(`${s}\n`);
};

interface Run {
  readonly system: 'fasttext' | 'rowshard';
  readonly name: string;
  readonly args: string;
  readonly p1: number;
  readonly seconds: number;
  /** CPU time of the training, every process and thread of it. */
  readonly cpuSeconds: number;
}

function p1Of(output: string): number {
  return Number(/P@1\s+([\d.]+)/.exec(output)?.[1]);
}

/**
 * Trains one setting with `supervised` and scores it with `test`: the same files and threads
 * for both systems (`sameThreads` false: rowshard without -thread, its cluster for the machine).
 */
function train(
  system: Run['system'],
  name: string,
  args: string[],
  sameThreads = true,
  trainFile = join(corpus, 'train.txt'),
): Run {
  const out = mkdtempSync(join(String(values.scratch), 'rowshard-ftbench-'));
  const [command, prefix, quiet] = system === 'fasttext' ? ['fasttext', [], ['-verbose', '0']] : [process.execPath, [cli], []];
  try {
    const model = join(out, 'model');
    const input = ['-input', trainFile, '-output', model, ...(sameThreads ? ['-thread', threads] : [])];
    const cpu0 = endedChildrenCpuMs();
    const seconds = timed(() =>
      execFileSync(command, [...prefix, 'supervised', ...input, ...quiet, ...args], { stdio: 'ignore' }),
    );
    const cpuSeconds = (endedChildrenCpuMs() - cpu0) / 1000;
    const scored = execFileSync(command, [...prefix, 'test', `${model}.bin`, join(corpus, 'test.txt')], { encoding: 'utf8' });
    return { system, name, args: args.join(' '), p1: p1Of(scored), seconds, cpuSeconds };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const best = (runs: readonly Run[]) => runs.reduce((a, b) => (b.p1 > a.p1 || (b.p1 === a.p1 && b.seconds < a.seconds) ? b : a));

function main(): void {
  if (spawnSync('fasttext', [], { stdio: 'ignore' }).error) {
    process.stderr.write('bench:fasttext needs fastText 0.9.2: apt-get install fasttext\n');
    process.exit(2);
  }
  if (!existsSync(join(corpus, 'train.txt'))) {
    execFileSync('/usr/bin/python3', [join(repoRoot, 'bench/corpus/make_fortunes.py'), corpus], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const only = values.only ?? null;
  if (only !== null && !['sweep', 'losses', 'vectors', 'race', 'use', 'placement', 'scale'].includes(only)) {
    process.stderr.write(`--only must be sweep, losses, vectors, race, use, placement or scale, got ${only}\n`);
    process.exit(2);
  }
  const report: Record<string, unknown> = { corpus, threads: Number(threads) };
  if (only === null || only === 'sweep') Object.assign(report, sweepReport());
  if (only === null || only === 'losses') report.losses = lossReport();
  if (only === null || only === 'vectors') report.vectors = vectorReport();
  if (only === null || only === 'race') report.race = raceReport();
  if (only === null || only === 'use') report.use = useReport({ cli, corpus, threads, scratch: String(values.scratch), log });
  if (only === null || only === 'placement') report.placement = placementReport();
  if (only === null || only === 'scale')
    report.scale = scaleReport({
      corpus,
      threads,
      scratch: String(values.scratch),
      copies: Number(values.copies),
      log,
      train: (system, args, sameThreads, file) => train(system, 'scale', args, sameThreads, file),
    });
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** skipgram by both on the corpus's text; rank correlation of pair similarities of the 2,000 most frequent words. */
function vectorReport() {
  const work = mkdtempSync(join(tmpdir(), 'rowshard-ftvec-'));
  try {
    const text = join(work, 'text.txt');
    writeFileSync(text, readFileSync(join(corpus, 'train.txt'), 'latin1').replace(/__label__\S+\s?/g, ''), 'latin1');
    const flags = ['-dim', '50', '-epoch', '5', '-bucket', '200000'];
    const run = (system: 'fasttext' | 'rowshard', name: string, extra: string[] = []) => {
      const [command, prefix, quiet] =
        system === 'fasttext' ? ['fasttext', [], ['-verbose', '0']] : [process.execPath, [cli], []];
      const seconds = timed(() =>
        execFileSync(
          command,
          [...prefix, 'skipgram', '-input', text, '-output', join(work, name), '-thread', threads, ...quiet, ...flags, ...extra],
          {
            stdio: 'ignore',
          },
        ),
      );
      return { seconds, ...readVec(join(work, `${name}.vec`), 2000) };
    };
    const ft = run('fasttext', 'ft');
    const ft2 = run('fasttext', 'ft2');
    // Another seed: how much two equally good fastText models agree (the same seed agrees almost wholly).
    const ftSeed = run('fasttext', 'ft-seed', ['-seed', '1']);
    // rowshard at its default (Adagrad 0.1) and at fastText's optimizer (-optimizer sgd: lr 0.05
    // decaying linearly to 0, each step the sum of the per-example updates).
    const rs = run('rowshard', 'rs');
    const rsSgd = run('rowshard', 'rs-sgd', ['-optimizer', 'sgd']);
    for (const r of [rs, rsSgd, ftSeed])
      if (r.words.join(' ') !== ft.words.join(' ')) throw new Error('the two dictionaries differ: the words cannot be paired');
    const ftCos = pairCosines(ft.vectors);
    const rho = spearman(pairCosines(rs.vectors), ftCos);
    const rhoSgd = spearman(pairCosines(rsSgd.vectors), ftCos);
    const rhoFt = spearman(pairCosines(ft2.vectors), ftCos);
    const rhoFtSeed = spearman(pairCosines(ftSeed.vectors), ftCos);
    log(
      `skipgram ${flags.join(' ')}, ${threads} threads, the ${ft.words.length} most frequent words (${ftCos.length} pairs): ` +
        `Spearman ρ of pair cosines against fastText's: rowshard (Adagrad) ${rho.toFixed(3)}, rowshard -optimizer sgd ${rhoSgd.toFixed(3)}, ` +
        `another fastText run ${rhoFt.toFixed(3)}, fastText -seed 1 ${rhoFtSeed.toFixed(3)}; training ${rs.seconds.toFixed(1)} s and ${rsSgd.seconds.toFixed(1)} s rowshard, ${ft.seconds.toFixed(1)} s fastText`,
    );
    return {
      flags: flags.join(' '),
      words: ft.words.length,
      pairs: ftCos.length,
      rho,
      rhoSgd,
      rhoFastTextRuns: rhoFt,
      rhoFastTextOtherSeed: rhoFtSeed,
      seconds: { rowshard: rs.seconds, rowshardSgd: rsSgd.seconds, fastText: ft.seconds },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Each loss at the same fastText flags for both systems, each system at its best of two rates
 * for that loss (fastText's SGD at -lr 0.5 and 1.0, rowshard's default optimizer at 0.2 and 0.5): a
 * loss's best rate is its own (ova sums a sigmoid per label into every update), and neither
 * system is held to a rate chosen for another loss. Held-out P@1 side by side.
 */
function lossReport() {
  const settings = ['-epoch', '10', '-wordNgrams', '2'];
  const rates = { fasttext: ['0.5', '1.0'], rowshard: ['0.2', '0.5'] } as const;
  log(
    `each loss at ${settings.join(' ')}, each system at its best -lr for the loss (fastText ${rates.fasttext.join(', ')}; rowshard ${rates.rowshard.join(', ')}), ${threads} threads: held-out P@1`,
  );
  const rows = (['softmax', 'ns', 'hs', 'ova'] as const).map((loss) => {
    const args = ['-loss', loss, ...settings];
    const fastTextRuns = rates.fasttext.map((lr) => train('fasttext', loss, [...args, '-lr', lr]));
    const rowshardRuns = rates.rowshard.map((lr) => train('rowshard', loss, [...args, '-lr', lr]));
    const fastText = best(fastTextRuns);
    const rowshard = best(rowshardRuns);
    const gap = Math.round((rowshard.p1 - fastText.p1) * 1000) / 10;
    const runs = (rs: Run[]) =>
      rs.map((r) => `${r.args.split(' ').pop()}: ${r.p1.toFixed(3)} (${r.seconds.toFixed(1)} s)`).join(', ');
    log(
      `-loss ${loss.padEnd(8)} fastText ${runs(fastTextRuns)}  rowshard ${runs(rowshardRuns)}  best: rowshard − fastText ${gap >= 0 ? '+' : ''}${gap} points`,
    );
    return { loss, fastText, rowshard, fastTextRuns, rowshardRuns, gapPoints: gap };
  });
  return rows;
}

/**
 * Time to fastText's best P@1: each system at the settings the sweep found (fastText's best;
 * rowshard's fastest run reaching it), three rounds in alternation, so both see the same hours.
 */
function raceReport() {
  // rowshard twice: with fastText's -thread (its worker threads, a shard beside them), and with
  // its own cluster for the machine's CPUs (on 2 CPUs 1 PS × 1 worker: two cores, as fastText's two threads).
  const entrants = [
    {
      system: 'fasttext' as const,
      name: "fastText's best",
      args: ['-lr', '1.0', '-epoch', '10', '-wordNgrams', '2'],
      same: true,
    },
    { system: 'rowshard' as const, name: "rowshard's fastest to it", args: ['-epoch', '1', '-wordNgrams', '2'], same: true },
    { system: 'rowshard' as const, name: 'the same, its own cluster', args: ['-epoch', '1', '-wordNgrams', '2'], same: false },
  ];
  const runs: Run[][] = entrants.map(() => []);
  for (let round = 0; round < 3; round++)
    for (let i = 0; i < entrants.length; i++) {
      const k = (i + round) % entrants.length;
      runs[k].push(train(entrants[k].system, entrants[k].name, entrants[k].args, entrants[k].same));
    }
  const summary = entrants.map((e, k) => ({
    ...e,
    args: `${e.args.join(' ')}${e.same ? '' : ' (no -thread)'}`,
    seconds: median(runs[k].map((r) => r.seconds)),
    cpuSeconds: median(runs[k].map((r) => r.cpuSeconds)),
    p1: median(runs[k].map((r) => r.p1)),
    runs: runs[k],
  }));
  const ratio = Math.round((summary[1].seconds / summary[0].seconds) * 100) / 100;
  const cpuRatio = Math.round((summary[1].cpuSeconds / summary[0].cpuSeconds) * 100) / 100;
  const ownRatio = Math.round((summary[2].seconds / summary[0].seconds) * 100) / 100;
  const ownCpuRatio = Math.round((summary[2].cpuSeconds / summary[0].cpuSeconds) * 100) / 100;
  log(`time to fastText's best P@1, ${threads} threads, model files in ${values.scratch}, median of 3 runs each (alternating):`);
  for (const s of summary)
    log(
      `${s.system.padEnd(9)} ${s.args.padEnd(46)} P@1 ${s.p1.toFixed(3)}  ${s.seconds.toFixed(1)} s  CPU ${s.cpuSeconds.toFixed(1)} s`,
    );
  log(`rowshard / fastText: wall time ${ratio}×, CPU time ${cpuRatio}×; with its own cluster ${ownRatio}×, CPU ${ownCpuRatio}×`);
  return {
    scratch: values.scratch,
    summary,
    rowshardOverFastText: ratio,
    cpuRowshardOverFastText: cpuRatio,
    ownClusterOverFastText: ownRatio,
    cpuOwnClusterOverFastText: ownCpuRatio,
  };
}

/** Where the classifier's output matrix lives: a dense parameter or a table, the same job otherwise. */
function placementReport() {
  const settings = ['-epoch', '5', '-wordNgrams', '2'];
  const places = ['dense', 'table'] as const;
  const runs: Record<(typeof places)[number], Run[]> = { dense: [], table: [] };
  for (let round = 0; round < 3; round++)
    for (const place of round % 2 === 0 ? places : [...places].reverse())
      runs[place].push(train('rowshard', place, [...settings, '-outputMatrix', place]));
  const summary = places.map((place) => ({
    outputMatrix: place,
    seconds: median(runs[place].map((r) => r.seconds)),
    p1: median(runs[place].map((r) => r.p1)),
    runs: runs[place],
  }));
  const ratio = Math.round((summary[1].seconds / summary[0].seconds) * 100) / 100;
  log(`output matrix placement, ${settings.join(' ')}, ${threads} threads, median of 3 runs each (alternating):`);
  for (const s of summary) log(`-outputMatrix ${s.outputMatrix.padEnd(6)} ${s.seconds.toFixed(1)} s  P@1 ${s.p1.toFixed(3)}`);
  log(`table / dense wall time: ${ratio}×`);
  return { settings: settings.join(' '), summary, tableOverDense: ratio };
}

function sweepReport() {
  // fastText's defaults are -lr 0.1 -epoch 5 -wordNgrams 1: a cell of the sweep, not a run of its own.
  const sweep: Run[] = [];
  for (const wordNgrams of ['1', '2'])
    for (const lr of ['0.1', '0.5', '1.0'])
      for (const epoch of ['5', '10', '25']) {
        const isDefault = lr === '0.1' && epoch === '5' && wordNgrams === '1';
        sweep.push(
          train('fasttext', isDefault ? "fastText's defaults" : 'sweep', ['-lr', lr, '-epoch', epoch, '-wordNgrams', wordNgrams]),
        );
      }
  const fastTextDefaults = sweep.find((r) => r.name === "fastText's defaults") as Run;
  const fastTextBest = best(sweep);
  const bestArgs = fastTextBest.args.split(' ');
  const flag = (f: string) => bestArgs[bestArgs.indexOf(f) + 1];
  // rowshard's defaults are -epoch 5 -wordNgrams 1 (its own optimizer and rate); each setting runs once.
  const rowshardRuns: Run[] = [];
  const rowshardRun = (name: string, epoch: string, wordNgrams: string) => {
    const args = ['-epoch', epoch, '-wordNgrams', wordNgrams];
    const done = rowshardRuns.find((r) => r.args === args.join(' '));
    if (done) return done;
    const run = train('rowshard', name, args);
    rowshardRuns.push(run);
    return run;
  };
  const rowshardDefaults = rowshardRun("rowshard's defaults", '5', '1');
  const atFastTextBest = rowshardRun("at fastText's best -epoch and -wordNgrams", flag('-epoch'), flag('-wordNgrams'));
  // Adagrad at -lr 0.5 reaches its best P@1 here in one or two passes and overfits after (train loss
  // near 0), so the sweep starts at one epoch.
  for (const wordNgrams of ['1', '2']) for (const epoch of ['1', '2', '3', '5']) rowshardRun('sweep', epoch, wordNgrams);
  const rowshardBest = best(rowshardRuns);
  const fastestTo = (runs: readonly Run[]) =>
    runs.filter((r) => r.p1 >= fastTextBest.p1 - 0.005).sort((a, b) => a.seconds - b.seconds)[0] ?? null;
  const reaching = fastestTo(rowshardRuns);
  const fastTextReaching = fastestTo(sweep) as Run;
  const ratio = reaching ? Math.round((reaching.seconds / fastTextReaching.seconds) * 100) / 100 : null;

  log(`fortunes corpus (${corpus}), ${threads} threads: held-out P@1 and training wall time (model files included)`);
  const line = (r: Run) =>
    `${r.system.padEnd(9)} ${r.name.padEnd(42)} ${r.args.padEnd(34)} P@1 ${r.p1.toFixed(3)}  ${r.seconds.toFixed(1)} s`;
  log(line(fastTextDefaults));
  log(line({ ...fastTextBest, name: "fastText's best of the sweep" }));
  log(line(rowshardDefaults));
  log(line({ ...atFastTextBest, name: "at fastText's best -epoch and -wordNgrams" }));
  log(line({ ...rowshardBest, name: "rowshard's best of its sweep" }));
  log(
    reaching
      ? `time to fastText's best P@1 (within 0.005): rowshard ${reaching.seconds.toFixed(1)} s (${reaching.args}) vs fastText ${fastTextReaching.seconds.toFixed(1)} s (${fastTextReaching.args}): ${ratio}×`
      : `rowshard did not reach fastText's best P@1 (${fastTextBest.p1.toFixed(3)}) in its sweep`,
  );
  return {
    fastTextDefaults,
    fastTextBest,
    rowshard: rowshardRuns,
    rowshardBest,
    timeToFastTextBest: reaching,
    fastTextTimeToItsBest: fastTextReaching,
    timeRatio: ratio,
    fastTextSweep: sweep,
  };
}

main();
