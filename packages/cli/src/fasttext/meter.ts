import { ErrorCodes, type LabelScore, RowshardError } from '@rowshard/core';
import { fastTextLines } from './byte-input.js';
import { loadNativeModel } from './native-model.js';

/**
 * fastText's autotune metrics and its Meter: how a trial's model scores on the validation
 * file (f1, precision at a recall, recall at a precision; of all labels or one).
 */
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
  for await (const words of fastTextLines(validation)) {
    const { ids, labels } = dict.line(words);
    if (labels.length === 0 || ids.length === 0) continue;
    meter.log(labels, model.predict(ids, k, 0));
  }
  if (metric.kind === 'f1') return meter.f1(label);
  if (metric.kind === 'precisionAtRecall') return meter.precisionAtRecall(label, metric.value);
  return meter.recallAtPrecision(label, metric.value);
}
