import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, type LabelScore, RowshardError, WordReader } from '@rowshard/core';
import type { OptionValue } from '../command-line/parse.js';
import { byteLines } from '../fasttext/byte-input.js';
import { loadNativeModel } from '../fasttext/native-model.js';
import { writeWordVectors } from '../fasttext/save-vectors.js';

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

/** The arguments autotune searches, as fastText's; one set by the user is left as given. */
const tunable = ['epoch', 'lr', 'dim', 'wordNgrams', 'loss', 'bucket', 'minn', 'maxn'] as const;

/**
 * The input matrix (words and buckets, times dim) a trial may have, in floats: rowshard writes
 * the whole matrix into the .bin (fastText holds it in memory), so a sample of fastText's
 * ranges (bucket up to 10M, dim up to 1000) would be a 40 GB file. Past this, bucket shrinks.
 */
export const maxInputFloats = 50_000_000;

export type MetricKind = 'f1' | 'precisionAtRecall' | 'recallAtPrecision';

export interface AutotuneMetric {
  readonly text: string;
  readonly kind: MetricKind;
  /** The recall or precision asked for, as a fraction (fastText's value is a percentage). */
  readonly value: number;
  /** A label the metric is of (as written, with its prefix), or null for all labels. */
  readonly label: string | null;
}

const badMetric = (text: string, why: string) =>
  new RowshardError(
    ErrorCodes.BAD_CONFIG,
    `supervised: -autotune-metric ${JSON.stringify(text)}: ${why}; fastText's metrics are f1, f1:LABEL, precisionAtRecall:R, precisionAtRecall:R:LABEL, recallAtPrecision:P, recallAtPrecision:P:LABEL (R and P in percent)`,
    { field: 'autotune-metric' },
  );

/** fastText's `-autotune-metric`, checked: an unknown metric, an empty label or a bad value is refused. */
export function parseAutotuneMetric(text: string): AutotuneMetric {
  if (text === 'f1') return { text, kind: 'f1', value: 0, label: null };
  if (text.startsWith('f1:')) {
    const label = text.slice(3);
    if (label === '') throw badMetric(text, 'the label is empty');
    return { text, kind: 'f1', value: 0, label };
  }
  for (const kind of ['precisionAtRecall', 'recallAtPrecision'] as const) {
    if (!text.startsWith(`${kind}:`)) continue;
    const rest = text.slice(kind.length + 1);
    const colon = rest.indexOf(':');
    const raw = colon < 0 ? rest : rest.slice(0, colon);
    const label = colon < 0 ? null : rest.slice(colon + 1);
    if (label === '') throw badMetric(text, 'the label is empty');
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 100)
      throw badMetric(text, `${JSON.stringify(raw)} is not a percentage from 0 to 100`);
    return { text, kind, value: value / 100, label };
  }
  throw badMetric(text, 'unknown metric');
}

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

interface Counts {
  gold: number;
  predicted: number;
  predictedGold: number;
}

/** A false negative's score in the score-vs-truth lists (fastText's -1: never reachable by a threshold). */
const falseNegativeScore = -1;

/**
 * fastText's Meter: counts over all labels and per label, and each prediction's score with
 * whether it was right, from which the precision-recall curve over thresholds is read.
 */
export class Meter {
  readonly all: Counts = { gold: 0, predicted: 0, predictedGold: 0 };
  private readonly perLabel = new Map<number, Counts & { scores: [number, number][] }>();
  examples = 0;

  /** `falseNegatives`: a gold label not predicted is listed too (fastText does so when the metric names a label). */
  constructor(private readonly falseNegatives: boolean) {}

  private of(label: number) {
    let m = this.perLabel.get(label);
    if (!m) {
      m = { gold: 0, predicted: 0, predictedGold: 0, scores: [] };
      this.perLabel.set(label, m);
    }
    return m;
  }

  log(labels: readonly number[], predictions: readonly LabelScore[]): void {
    this.examples++;
    this.all.gold += labels.length;
    this.all.predicted += predictions.length;
    for (const p of predictions) {
      const m = this.of(p.label);
      m.predicted++;
      const right = labels.includes(p.label);
      if (right) {
        m.predictedGold++;
        this.all.predictedGold++;
      }
      m.scores.push([Math.min(Math.fround(Math.exp(p.logProb)), 1), right ? 1 : 0]);
    }
    for (const l of labels) {
      const m = this.of(l);
      m.gold++;
      if (this.falseNegatives && !predictions.some((p) => p.label === l)) m.scores.push([falseNegativeScore, 1]);
    }
  }

  /** F1 over all labels (from precision and recall over every prediction and gold label), or of one label. */
  f1(label: number | null): number {
    if (label !== null) {
      const m = this.perLabel.get(label) ?? { gold: 0, predicted: 0, predictedGold: 0 };
      return m.predicted + m.gold === 0 ? Number.NaN : (2 * m.predictedGold) / (m.predicted + m.gold);
    }
    const p = this.all.predicted === 0 ? Number.NaN : this.all.predictedGold / this.all.predicted;
    const r = this.all.gold === 0 ? Number.NaN : this.all.predictedGold / this.all.gold;
    return p + r !== 0 ? (2 * p * r) / (p + r) : Number.NaN;
  }

  /**
   * The precision-recall curve of a label (or of all): predictions taken from the highest
   * score down, one point per distinct score, up to the first reaching full recall, then (1, 0).
   */
  curve(label: number | null): [number, number][] {
    const scores: [number, number][] = [];
    if (label === null) for (const m of this.perLabel.values()) scores.push(...m.scores);
    else scores.push(...(this.perLabel.get(label)?.scores ?? []));
    scores.sort((a, b) => b[0] - a[0] || b[1] - a[1]);
    const counts: [number, number][] = [];
    let tp = 0;
    let fp = 0;
    let last = Number.NaN;
    for (const [score, gold] of scores) {
      if (score < 0) break;
      if (gold === 1) tp++;
      else fp++;
      if (score === last && counts.length > 0) counts[counts.length - 1] = [tp, fp];
      else counts.push([tp, fp]);
      last = score;
    }
    if (counts.length === 0) return [];
    const golds = label === null ? this.all.gold : (this.perLabel.get(label)?.gold ?? 0);
    const full = counts.findIndex(([t]) => t >= golds);
    const end = full < 0 ? counts.length : full + 1;
    const points: [number, number][] = counts
      .slice(0, end)
      .map(([t, f]) => [t + f === 0 ? 0 : t / (t + f), golds !== 0 ? t / golds : Number.NaN]);
    points.push([1, 0]);
    return points;
  }

  /** The best precision at a recall of at least `recall`. */
  precisionAtRecall(label: number | null, recall: number): number {
    let best = 0;
    for (const [p, r] of this.curve(label)) if (r >= recall) best = Math.max(best, p);
    return best;
  }

  /** The best recall at a precision of at least `precision`. */
  recallAtPrecision(label: number | null, precision: number): number {
    let best = 0;
    for (const [p, r] of this.curve(label)) if (p >= precision) best = Math.max(best, r);
    return best;
  }
}

/** A trained model scored on the validation file: k predictions a line at threshold 0, as fastText's autotune tests. */
export async function scoreModel(
  modelPath: string,
  labelPrefix: string,
  validation: string,
  k: number,
  metric: AutotuneMetric,
): Promise<number> {
  const { dict, model } = loadNativeModel(modelPath, labelPrefix);
  let label: number | null = null;
  if (metric.label !== null) {
    const id = dict.getId(Buffer.from(metric.label, 'utf8').toString('latin1'));
    if (id < dict.nwords)
      throw new RowshardError(
        ErrorCodes.BAD_CONFIG,
        `supervised: -autotune-metric ${metric.text}: the model has no label ${JSON.stringify(metric.label)}`,
        { field: 'autotune-metric' },
      );
    label = id - dict.nwords;
  }
  const meter = new Meter(metric.label !== null);
  for await (const line of byteLines(validation)) {
    const words = new WordReader(line).readLine() ?? [];
    const { ids, labels } = dict.line(words);
    if (labels.length === 0 || ids.length === 0) continue;
    meter.log(labels, model.predict(ids, k, 0));
  }
  if (metric.kind === 'f1') return meter.f1(label);
  if (metric.kind === 'precisionAtRecall') return meter.precisionAtRecall(label, metric.value);
  return meter.recallAtPrecision(label, metric.value);
}

/** The arguments a trial is given. */
export interface TrialArgs {
  epoch: number;
  lr: number;
  dim: number;
  wordNgrams: number;
  minn: number;
  maxn: number;
  bucket: number;
  loss: string;
  /** The quantiser's sub-vector size, searched only under -autotune-modelsize. */
  dsub?: number;
}

/** A seeded generator (mulberry32) with normal draws (Box–Muller). */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(sigma: number): number {
    const u = 1 - this.uniform();
    return sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

const minnChoices = [0, 2, 3];

/**
 * fastText's search strategy: each argument perturbed around the best so far by a normal
 * draw whose spread goes from `start` to `end` as the elapsed fraction t goes from 0.25 to
 * 0.75 (multiplied by 2^draw, or added, then cut to the range and truncated to an integer
 * where the argument is one).
 */
export class AutotuneStrategy {
  private readonly random: Random;
  private best: TrialArgs;
  private bestNonzeroBucket: number;
  private bestDsubExponent: number;
  trials = 0;

  constructor(
    start: TrialArgs,
    private readonly manual: ReadonlySet<string>,
    seed: number,
  ) {
    this.random = new Random(seed);
    this.best = { ...start };
    this.bestNonzeroBucket = start.bucket > 0 ? start.bucket : 2_000_000;
    this.bestDsubExponent = Math.log2(start.dsub ?? 2);
  }

  private draw(value: number, min: number, max: number, start: number, end: number, t: number, linear: boolean): number {
    const sigma = start - ((start - end) / 0.5) * Math.min(0.5, Math.max(t - 0.25, 0));
    const c = this.random.normal(sigma);
    const v = linear ? value + c : value * 2 ** c;
    return Math.min(max, Math.max(min, v));
  }

  /** The next trial's arguments; `t` is the fraction of the time spent. */
  ask(t: number): TrialArgs {
    this.trials++;
    const a: TrialArgs = { ...this.best };
    if (this.trials > 1) {
      const m = (name: string) => this.manual.has(name);
      if (!m('epoch')) a.epoch = Math.trunc(this.draw(a.epoch, 1, 100, 2.8, 2.5, t, false));
      if (!m('lr')) a.lr = this.draw(a.lr, 0.01, 5, 1.9, 1.0, t, false);
      if (!m('dim')) a.dim = Math.trunc(this.draw(a.dim, 1, 1000, 1.4, 0.3, t, false));
      if (!m('wordNgrams')) a.wordNgrams = Math.trunc(this.draw(a.wordNgrams, 1, 5, 4.3, 2.4, t, true));
      if (!m('minn')) {
        const at = Math.max(0, minnChoices.indexOf(this.best.minn));
        a.minn = minnChoices[Math.trunc(this.draw(at, 0, minnChoices.length - 1, 4.0, 1.4, t, true))];
      }
      if (!m('maxn')) a.maxn = a.minn === 0 ? 0 : a.minn + 3;
      if (!m('bucket')) a.bucket = Math.trunc(this.draw(this.bestNonzeroBucket, 10_000, 10_000_000, 2.0, 1.5, t, false));
      if (a.dsub !== undefined) a.dsub = 2 ** Math.trunc(this.draw(this.bestDsubExponent, 1, 4, 2.0, 1.0, t, true));
    }
    // No word n-grams and no character n-grams: the buckets would never be read.
    if (!this.manual.has('bucket') && a.wordNgrams <= 1 && a.maxn === 0) a.bucket = 0;
    if (!this.manual.has('bucket') && a.bucket * a.dim > maxInputFloats) a.bucket = Math.floor(maxInputFloats / a.dim);
    return a;
  }

  /** A trial scored best so far: the next ones perturb it. */
  update(best: TrialArgs): void {
    this.best = { ...best };
    if (best.bucket > 0) this.bestNonzeroBucket = best.bucket;
    if (best.dsub !== undefined) this.bestDsubExponent = Math.log2(best.dsub);
  }
}

/** A trial's arguments as `rowshard supervised` flags. */
export function trialFlags(a: TrialArgs): string[] {
  return [
    '-epoch',
    String(a.epoch),
    '-lr',
    String(Number(a.lr.toPrecision(6))),
    '-dim',
    String(a.dim),
    '-wordNgrams',
    String(a.wordNgrams),
    '-minn',
    String(a.minn),
    '-maxn',
    String(a.maxn),
    '-bucket',
    String(a.bucket),
    '-loss',
    a.loss,
  ];
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
const cliMain = fileURLToPath(new URL('../main.js', import.meta.url));

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
        for (const ext of ['bin', 'ftz', 'vec', 'output']) rmSync(`${prefix}.${ext}`, { force: true });
        rmSync(`${prefix}.rowshard`, { recursive: true, force: true });
        continue;
      }
      const score = await scoreModel(`${prefix}.${modelExt}`, labelPrefix, validation, k, metric);
      const wins = better(score);
      process.stderr.write(
        `trial ${trial}: ${describe(args)}: ${modelSize === null ? '' : `-cutoff ${cutoff}, ${size} bytes, `}${metric.text} ${score.toFixed(6)} (${seconds} s)${wins ? ', best so far' : ''}\n`,
      );
      if (wins) {
        if (best) for (const ext of ['bin', 'ftz', 'vec', 'output']) rmSync(`${best.prefix}.${ext}`, { force: true });
        best = { args, score, prefix, trial };
        strategy.update(args);
      } else for (const ext of ['bin', 'ftz', 'vec', 'output']) rmSync(`${prefix}.${ext}`, { force: true });
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
