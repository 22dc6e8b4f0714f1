/**
 * fastText's autotune search (src/autotune.cc): which arguments it tunes, their ranges, and
 * how each trial's arguments are drawn around the best so far. No I/O: the command runs the
 * trials (commands/fasttext-autotune.ts) and scores them (meter.ts).
 */

/** The arguments autotune searches, as fastText's; one set by the user is left as given. */
export const tunable = ['epoch', 'lr', 'dim', 'wordNgrams', 'loss', 'bucket', 'minn', 'maxn'] as const;

/**
 * The input matrix (words and buckets, times dim) a trial may have, in floats: rowshard writes
 * the whole matrix into the .bin (fastText holds it in memory), so a sample of fastText's
 * ranges (bucket up to 10M, dim up to 1000) would be a 40 GB file. Past this, bucket shrinks.
 */
export const maxInputFloats = 50_000_000;

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
