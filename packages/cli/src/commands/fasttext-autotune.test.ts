import { describe, expect, it } from 'vitest';
import { AutotuneStrategy, maxInputFloats, type TrialArgs } from '../fasttext/autotune-search.js';
import { Meter, parseAutotuneMetric } from '../fasttext/meter.js';
import { CUTOFF_LIMIT, cutoffForFileSize, parseModelSize } from './fasttext-autotune.js';

const pred = (label: number, prob: number) => ({ label, logProb: Math.log(prob) });

/**
 * Four lines, two labels, one prediction each: right (0.9), wrong (0.8), right (0.7), wrong
 * (0.6). Precision and recall by hand: over all labels 2 of 4 predictions right and 2 of 4
 * gold labels found; the curve from the highest score down is (1, 1/4), (1/2, 1/4), (2/3, 1/2),
 * (1/2, 1/2), then fastText's closing (1, 0).
 */
function meter(falseNegatives: boolean): Meter {
  const m = new Meter(falseNegatives);
  m.log([0], [pred(0, 0.9)]);
  m.log([1], [pred(0, 0.8)]);
  m.log([1], [pred(1, 0.7)]);
  m.log([0], [pred(1, 0.6)]);
  return m;
}

describe("fastText's Meter, as autotune scores", () => {
  it('f1 over all labels and of one label', () => {
    const m = meter(false);
    expect(m.f1(null)).toBeCloseTo(0.5, 12);
    expect(m.f1(0)).toBeCloseTo(0.5, 12);
    expect(m.f1(7)).toBeNaN();
  });

  it('reads the precision-recall curve over thresholds', () => {
    const m = meter(false);
    const curve = m.curve(null);
    expect(curve.map(([p, r]) => [Number(p.toFixed(4)), r])).toEqual([
      [1, 0.25],
      [0.5, 0.25],
      [0.6667, 0.5],
      [0.5, 0.5],
      [1, 0],
    ]);
    expect(m.precisionAtRecall(null, 0.5)).toBeCloseTo(2 / 3, 12);
    expect(m.precisionAtRecall(null, 0.75)).toBe(0);
    expect(m.recallAtPrecision(null, 0.6)).toBe(0.5);
    expect(m.recallAtPrecision(null, 0.9)).toBe(0.25);
  });

  it("of one label, a gold label never predicted counts against recall (fastText's false negatives)", () => {
    const m = meter(true);
    // Label 1: right at 0.7, wrong at 0.6, missed once: 2 gold.
    expect(m.curve(1)).toEqual([
      [1, 0.5],
      [0.5, 0.5],
      [1, 0],
    ]);
    expect(m.precisionAtRecall(1, 0.5)).toBe(1);
    expect(m.recallAtPrecision(1, 0.6)).toBe(0.5);
    expect(m.precisionAtRecall(1, 0.6)).toBe(0);
  });

  it('squeezes tied scores into one point, and stops at full recall', () => {
    const m = new Meter(false);
    m.log([0], [pred(0, 0.5)]);
    m.log([1], [pred(0, 0.5)]);
    m.log([1], [pred(1, 0.4)]);
    m.log([0], [pred(1, 0.1)]);
    expect(m.curve(0)).toEqual([
      [0.5, 0.5],
      [1, 0],
    ]);
    // All labels: full recall (4 gold) is never reached with 2 right, so every point is kept.
    expect(m.curve(null).length).toBe(4);
  });
});

describe('-autotune-metric', () => {
  it("parses fastText's metrics; R and P are percentages", () => {
    expect(parseAutotuneMetric('f1')).toMatchObject({ kind: 'f1', label: null });
    expect(parseAutotuneMetric('f1:__label__a')).toMatchObject({ kind: 'f1', label: '__label__a' });
    expect(parseAutotuneMetric('precisionAtRecall:30')).toMatchObject({
      kind: 'precisionAtRecall',
      value: 0.3,
      label: null,
    });
    expect(parseAutotuneMetric('recallAtPrecision:50:__label__b')).toMatchObject({
      kind: 'recallAtPrecision',
      value: 0.5,
      label: '__label__b',
    });
  });

  it('refuses an unknown metric, an empty label and a bad percentage, naming the flag', () => {
    for (const bad of [
      'f2',
      'f1:',
      'precisionAtRecall:',
      'precisionAtRecall:x',
      'recallAtPrecision:150',
      'precisionAtRecall:30:',
    ])
      expect(() => parseAutotuneMetric(bad), bad).toThrow(/-autotune-metric/);
  });
});

describe('-autotune-modelsize', () => {
  it("reads fastText's sizes: bytes, k, M, G (powers of 10, either case)", () => {
    expect(parseModelSize('1234')).toBe(1234);
    expect(parseModelSize('500k')).toBe(500_000);
    expect(parseModelSize('2M')).toBe(2_000_000);
    expect(parseModelSize('1g')).toBe(1_000_000_000);
    for (const bad of ['', 'M', '2X', '1.5M', '-3k', '0']) expect(() => parseModelSize(bad), bad).toThrow(/-autotune-modelsize/);
  });

  it("cuts to the rows fastText's autotune cuts to (getCutoffForFileSize), never under 256", () => {
    // fastText 0.9.2's autotune prints these (-verbose 3) for -dim 4 and 4 labels under -autotune-modelsize 15k.
    const small = { qout: false, qnorm: true, fileSize: 15_000, outRows: 4, dim: 4 };
    expect(cutoffForFileSize({ ...small, dsub: 2 })).toBe(824);
    expect(cutoffForFileSize({ ...small, dsub: 16 })).toBe(893);
    // -qout (256 labels or more): the output matrix quantised in pairs, its norms too.
    expect(cutoffForFileSize({ qout: true, qnorm: true, dsub: 4, fileSize: 2_000_000, outRows: 300, dim: 10 })).toBe(141_255);
    expect(cutoffForFileSize({ ...small, dsub: 2, fileSize: 5000 })).toBe(CUTOFF_LIMIT);
  });
});

describe("autotune's search", () => {
  const start: TrialArgs = { epoch: 5, lr: 0.5, dim: 100, wordNgrams: 1, minn: 0, maxn: 0, bucket: 2_000_000, loss: 'softmax' };

  it('tries the command line first (buckets dropped when nothing is hashed), then samples in range', () => {
    const s = new AutotuneStrategy(start, new Set(), 3);
    expect(s.ask(0)).toEqual({ ...start, bucket: 0 });
    for (let i = 0; i < 200; i++) {
      const a = s.ask(i / 200);
      expect(a.epoch).toBeGreaterThanOrEqual(1);
      expect(a.epoch).toBeLessThanOrEqual(100);
      expect(Number.isInteger(a.epoch) && Number.isInteger(a.dim) && Number.isInteger(a.wordNgrams)).toBe(true);
      expect(a.lr).toBeGreaterThanOrEqual(0.01);
      expect(a.lr).toBeLessThanOrEqual(5);
      expect(a.dim).toBeGreaterThanOrEqual(1);
      expect(a.dim).toBeLessThanOrEqual(1000);
      expect(a.wordNgrams).toBeGreaterThanOrEqual(1);
      expect(a.wordNgrams).toBeLessThanOrEqual(5);
      expect([0, 2, 3]).toContain(a.minn);
      expect(a.maxn).toBe(a.minn === 0 ? 0 : a.minn + 3);
      if (a.wordNgrams <= 1 && a.maxn === 0) expect(a.bucket).toBe(0);
      else expect(a.bucket).toBeGreaterThanOrEqual(Math.min(10_000, Math.floor(maxInputFloats / a.dim)));
      expect(a.bucket * a.dim).toBeLessThanOrEqual(maxInputFloats);
      expect(a.loss).toBe('softmax');
      expect(a.dsub).toBeUndefined();
    }
  });

  it('searches dsub among 2, 4, 8, 16 under a size limit', () => {
    const s = new AutotuneStrategy({ ...start, dsub: 2 }, new Set(), 1);
    expect(s.ask(0).dsub).toBe(2);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(s.ask(0.5).dsub as number);
    expect([...seen].sort((a, b) => a - b)).toEqual([2, 4, 8, 16]);
  });

  it('leaves what the user set alone, and is the same for the same seed', () => {
    const given = { ...start, dim: 16, epoch: 7, loss: 'hs' };
    const a = new AutotuneStrategy(given, new Set(['dim', 'epoch', 'loss']), 5);
    const b = new AutotuneStrategy(given, new Set(['dim', 'epoch', 'loss']), 5);
    for (let i = 0; i < 50; i++) {
      const x = a.ask(0.5);
      expect(x).toEqual(b.ask(0.5));
      expect([x.dim, x.epoch, x.loss]).toEqual([16, 7, 'hs']);
    }
  });
});
