import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, RowshardError } from '@rowshard/core';
import { bundleEntry } from '@rowshard/transport/launch';
import type { OptionValue } from '../command-line/parse.js';
import { AutotuneStrategy, type TrialArgs, trialFlags, tunable } from '../fasttext/autotune-search.js';
import { parseAutotuneMetric, scoreModel } from '../fasttext/meter.js';
import { loadNativeModel } from '../fasttext/native-model.js';
import { writeWordVectors } from '../fasttext/save-vectors.js';

/** A trial's files besides its checkpoints: model, draft of one (a trial stopped while it trained), vectors. */
const TRIAL_FILES = ['bin', 'bin.draft', 'ftz', 'vec', 'output'];

/**
 * fastText's autotune for `rowshard supervised -autotune-validation FILE`: a random search
 * around the best arguments so far, each trial a whole `rowshard supervised` run (a child
 * process, so a trial still running when the time is up is stopped as any run is, by SIGTERM)
 * into a temporary directory, scored on the validation file with fastText's Meter and
 * metric. The search follows fastText's (src/autotune.cc): the first trial is the command
 * line as given, each later one perturbs the best so far with a spread that narrows as the
 * time runs out; arguments the user set are not tuned. Unlike fastText, which trains once more
 * with the best arguments at the end, the best trial's own files are kept: the score printed
 * is the score of the model written.
 */

/** The flags autotune owns; they are not passed to the trials. */
export const autotuneFlags = [
  'autotune-validation',
  'autotune-metric',
  'autotune-predictions',
  'autotune-duration',
  'autotune-modelsize',
] as const;

/**
 * fastText's `-autotune-modelsize`: bytes, with an optional k, m or g (either case: 10^3,
 * 10^6, 10^9). A size that is not a whole number is refused.
 */
export function parseModelSize(text: string): number {
  const units: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9 };
  const unit = units[text.slice(-1).toLowerCase()];
  const digits = unit ? text.slice(0, -1) : text;
  if (!/^\d+$/.test(digits) || Number(digits) === 0)
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `supervised: -autotune-modelsize ${JSON.stringify(text)}: not a size (bytes, or a whole number with k, M or G: 2M)`,
      { field: 'autotune-modelsize' },
    );
  return Number(digits) * (unit ?? 1);
}

/** fastText's autotune: the least -cutoff it quantises at; a size that leaves no more fails. */
export const CUTOFF_LIMIT = 256;

/**
 * fastText's autotune under -autotune-modelsize (`getCutoffForFileSize`): the -cutoff (input
 * rows kept) that makes the .ftz about `fileSize` bytes, given the output matrix
 * (`outRows` × `dim`, quantised with -qout in pairs), -qnorm and -dsub: what is left after
 * the header, the input quantiser's centroids and the output matrix, over the bytes of a row
 * (a code per sub-vector, a norm code, and 10 for its share of the dictionary), in fastText's
 * integer arithmetic; never under 256 (`CUTOFF_LIMIT`: then no cutoff fits).
 */
export function cutoffForFileSize(o: {
  qout: boolean;
  qnorm: boolean;
  dsub: number;
  fileSize: number;
  outRows: number;
  dim: number;
}): number {
  const outModelSize = o.qout
    ? 21 + o.outRows * Math.trunc((o.dim + 1) / 2) + (16 + 4 * o.dim * 256) + (o.qnorm ? o.outRows : 0)
    : 16 + 4 * o.outRows * o.dim;
  // fastText narrows the target to a 32-bit int.
  const target = (o.fileSize - 107 - 4 * 256 * o.dim - outModelSize) | 0;
  const cutoff = Math.trunc(target / (Math.trunc((o.dim + o.dsub - 1) / o.dsub) + (o.qnorm ? 1 : 0) + 10));
  return Math.max(cutoff, CUTOFF_LIMIT);
}

export interface AutotuneOptions {
  /** The command line's parsed flags (autotune's own and -output included). */
  readonly flags: Record<string, OptionValue>;
  readonly output: string;
  /** The starting point: the flags given, else rowshard supervised's defaults. */
  readonly start: TrialArgs;
}

interface TrialOutcome {
  readonly code: number | null;
  /** Why it was stopped, if it was: the time was up, or this process was interrupted. */
  readonly stopped: 'deadline' | 'interrupt' | null;
  readonly lastLine: string;
}

/** The CLI's entry point, for the trials' child processes. */
const cliMain = fileURLToPath(bundleEntry('rowshard') ?? new URL('../main.js', import.meta.url));

/** Stops the trial under way: the time is up, or this process was interrupted. */
interface TrialControl {
  stop: ((why: 'deadline' | 'interrupt') => void) | null;
}

/** `rowshard supervised|quantize ...` as a child process, stopped by SIGTERM at the deadline or on `control.stop`. */
function runTrial(command: string, argv: string[], deadline: number, control: TrialControl): Promise<TrialOutcome> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cliMain, command, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let stopped: TrialOutcome['stopped'] = null;
    control.stop = (why) => {
      stopped ??= why;
      child.kill('SIGTERM');
    };
    const timer = setTimeout(() => control.stop?.('deadline'), Math.max(0, deadline - Date.now()));
    child.on('error', (e) => {
      clearTimeout(timer);
      control.stop = null;
      fail(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      control.stop = null;
      const lines = tail.trim().split('\n');
      done({ code, stopped, lastLine: lines[lines.length - 1] ?? '' });
    });
  });
}

const describe = (a: TrialArgs) =>
  `-epoch ${a.epoch} -lr ${Number(a.lr.toPrecision(4))} -dim ${a.dim} -wordNgrams ${a.wordNgrams} -minn ${a.minn} -maxn ${a.maxn} -bucket ${a.bucket} -loss ${a.loss}${a.dsub === undefined ? '' : ` -dsub ${a.dsub}`}`;

/** Runs the search; the best trial's PREFIX.bin and PREFIX.vec (and .output) end up at -output. */
export async function runAutotune(o: AutotuneOptions): Promise<number> {
  const flags = o.flags;
  const validation = resolve(String(flags['autotune-validation']));
  if (!existsSync(validation) || statSync(validation).isDirectory())
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `supervised: -autotune-validation ${validation}: ${existsSync(validation) ? 'a directory, not a file' : 'no such file'}`,
      {
        field: 'autotune-validation',
        file: validation,
      },
    );
  const metric = parseAutotuneMetric(String(flags['autotune-metric'] ?? 'f1'));
  const k = (flags['autotune-predictions'] as number | undefined) ?? 1;
  if (k === 0 || k < -1)
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `supervised: -autotune-predictions must be a positive integer or -1 (every label), got ${k}`,
      { field: 'autotune-predictions' },
    );
  const duration = (flags['autotune-duration'] as number | undefined) ?? 300;
  const labelPrefix = String(flags.label ?? '__label__');
  if (metric.label !== null && !metric.label.startsWith(labelPrefix))
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `supervised: -autotune-metric ${metric.text}: ${JSON.stringify(metric.label)} is not a label (labels start with ${labelPrefix})`,
      { field: 'autotune-metric' },
    );
  const modelSize = flags['autotune-modelsize'] === undefined ? null : parseModelSize(String(flags['autotune-modelsize']));
  // Under a size limit the model kept is the quantised one, PREFIX.ftz, as fastText's.
  const modelExt = modelSize === null ? 'bin' : 'ftz';
  let qout: boolean | undefined;
  let sizeFailures = 0;
  let sizeWarned = false;
  const manual = new Set(tunable.filter((name) => flags[name] !== undefined));
  for (const name of manual)
    process.stderr.write(`Warning : ${name} is manually set to a specific value. It will not be automatically optimized.\n`);
  // What every trial is given as it is: the flags that autotune neither owns nor tunes.
  const passed: string[] = [];
  for (const [name, value] of Object.entries(flags)) {
    if (name === 'output' || (autotuneFlags as readonly string[]).includes(name) || (tunable as readonly string[]).includes(name))
      continue;
    if (value === false) continue;
    if (value === true) passed.push(`-${name}`);
    else passed.push(`-${name}`, String(value));
  }
  passed[passed.indexOf('-input') + 1] = resolve(String(flags.input));
  if (flags.pretrainedVectors !== undefined)
    passed[passed.indexOf('-pretrainedVectors') + 1] = resolve(String(flags.pretrainedVectors));

  const start = modelSize === null ? o.start : { ...o.start, dsub: 2 };
  const strategy = new AutotuneStrategy(start, manual, (flags.seed as number | undefined) ?? 0);
  const scratch = mkdtempSync(join(tmpdir(), 'rowshard-autotune-'));
  const began = Date.now();
  const deadline = began + duration * 1000;
  let best: { args: TrialArgs; score: number; prefix: string; trial: number } | null = null;
  const better = (score: number) => best === null || (!Number.isNaN(score) && (Number.isNaN(best.score) || score > best.score));
  let trial = 0;
  process.stderr.write(
    `autotune: ${duration} s${modelSize === null ? '' : `, models quantised to at most ${modelSize} bytes`}, metric ${metric.text} on ${validation} with ${k === -1 ? 'every label' : `${k} prediction${k === 1 ? '' : 's'}`} a line\n`,
  );
  // Ctrl-C (or SIGTERM) ends the search as the time running out does: the best so far is kept.
  const control: TrialControl = { stop: null };
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    control.stop?.('interrupt');
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    while (!interrupted && Date.now() < deadline) {
      trial++;
      const args = strategy.ask((Date.now() - began) / (duration * 1000));
      const prefix = join(scratch, `trial-${trial}`);
      const started = Date.now();
      let outcome = await runTrial('supervised', [...passed, ...trialFlags(args), '-output', prefix], deadline, control);
      // -autotune-modelsize: quantised as fastText's autotune quantises: -qnorm, -qout from 256
      // labels, at the dsub searched, cut to the rows that fit (-cutoff from the size, as
      // fastText computes it) and retrained on -input with the trial's -epoch and -lr.
      let size = 0;
      let cutoff = 0;
      if (modelSize !== null && outcome.code === 0) {
        const nlabels = loadNativeModel(`${prefix}.bin`, labelPrefix).dict.nlabels;
        qout ??= nlabels >= CUTOFF_LIMIT;
        cutoff = cutoffForFileSize({
          qout,
          qnorm: true,
          dsub: args.dsub ?? 2,
          fileSize: modelSize,
          outRows: nlabels,
          dim: args.dim,
        });
        if (cutoff > CUTOFF_LIMIT) {
          const q = [
            ...['-output', prefix, '-input', resolve(String(flags.input)), '-qnorm', ...(qout ? ['-qout'] : [])],
            ...['-dsub', String(args.dsub), '-cutoff', String(cutoff), '-retrain'],
            ...['-epoch', String(args.epoch), '-lr', String(Number(args.lr.toPrecision(6)))],
            ...(flags.optimizer === undefined ? [] : ['-optimizer', String(flags.optimizer)]),
            ...(flags.thread === undefined ? [] : ['-thread', String(flags.thread)]),
          ];
          outcome = await runTrial('quantize', q, deadline, control);
          if (outcome.code === 0) size = statSync(`${prefix}.ftz`).size;
        }
      }
      const noCutoffFits = modelSize !== null && outcome.code === 0 && cutoff === CUTOFF_LIMIT;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (outcome.stopped && outcome.code !== 0) {
        // As fastText: the trial under way when the time is up (or on Ctrl-C) is dropped, the best so far kept.
        const why = outcome.stopped === 'deadline' ? 'out of time' : 'interrupted';
        process.stderr.write(`trial ${trial}: ${describe(args)}: stopped, ${why} (${seconds} s)\n`);
        break;
      }
      if (outcome.code === 2 && trial === 1) {
        // The command line itself is wrong: the trial said why.
        process.stderr.write(`${outcome.lastLine}\n`);
        return 2;
      }
      if (outcome.code !== 0) {
        process.stderr.write(`trial ${trial}: ${describe(args)}: failed (${outcome.lastLine})\n`);
        continue;
      }
      // As fastText's: the size decides the cutoff, and a trial fails only when no cutoff over
      // 256 rows fits; the .ftz may then pass the size by a little (fastText's estimate of the
      // dictionary's bytes), as fastText's does. The trial's line prints its real size.
      if (noCutoffFits) {
        sizeFailures++;
        process.stderr.write(
          `trial ${trial}: ${describe(args)}: quantised, no -cutoff over ${CUTOFF_LIMIT} rows fits: over -autotune-modelsize (${modelSize}) (${seconds} s)\n`,
        );
        if (!sizeWarned && trial > 10 && sizeFailures > trial / 2) {
          sizeWarned = true;
          process.stderr.write(
            'Warning : requested model size is probably too small. You may want to increase `autotune-modelsize`.\n',
          );
        }
        for (const ext of TRIAL_FILES) rmSync(`${prefix}.${ext}`, { force: true });
        rmSync(`${prefix}.rowshard`, { recursive: true, force: true });
        continue;
      }
      const score = await scoreModel(`${prefix}.${modelExt}`, labelPrefix, validation, k, metric);
      const wins = better(score);
      process.stderr.write(
        `trial ${trial}: ${describe(args)}: ${modelSize === null ? '' : `-cutoff ${cutoff}, ${size} bytes, `}${metric.text} ${score.toFixed(6)} (${seconds} s)${wins ? ', best so far' : ''}\n`,
      );
      if (wins) {
        if (best) for (const ext of TRIAL_FILES) rmSync(`${best.prefix}.${ext}`, { force: true });
        best = { args, score, prefix, trial };
        strategy.update(args);
      } else for (const ext of TRIAL_FILES) rmSync(`${prefix}.${ext}`, { force: true });
      rmSync(`${prefix}.rowshard`, { recursive: true, force: true });
    }
    if (!best && interrupted) {
      process.stderr.write('supervised: autotune interrupted before a trial finished\n');
      return 130;
    }
    if (!best && sizeFailures > 0) {
      process.stderr.write(
        `supervised: autotune could not fulfil the model size constraint: raise -autotune-modelsize (${modelSize} bytes)\n`,
      );
      return 1;
    }
    if (!best) {
      process.stderr.write(`supervised: autotune had not enough time to train once: raise -autotune-duration (${duration} s)\n`);
      return 1;
    }
    const { prefix, args, score } = best;
    mkdirSync(dirname(o.output), { recursive: true });
    for (const ext of [modelExt, 'output'])
      if (existsSync(`${prefix}.${ext}`)) copyFileSync(`${prefix}.${ext}`, `${o.output}.${ext}`);
    // As fastText saves them after its autotune: the vectors of the model kept (quantised, under -autotune-modelsize).
    if (modelSize === null) copyFileSync(`${prefix}.vec`, `${o.output}.vec`);
    else writeWordVectors(`${o.output}.vec`, loadNativeModel(`${o.output}.ftz`, labelPrefix).model);
    process.stderr.write(`Best selected args (trial ${best.trial} of ${trial}): ${describe(args)}\n`);
    process.stderr.write(`Best ${metric.text} on ${validation}: ${score.toFixed(6)}\n`);
    process.stderr.write(`wrote ${o.output}.${modelExt} (fastText 0.9.2's format) and ${o.output}.vec\n`);
    return 0;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    rmSync(scratch, { recursive: true, force: true });
  }
}
