import { describe, expect, it } from 'vitest';
import { SyntheticText } from './synthetic-text.js';

const spec = {
  kind: 'synthetic_text',
  vocabSize: 5000,
  seqLen: 16,
  numClasses: 3,
  zipfS: 1.1,
  seed: 4,
  rule: 'signal_tokens',
  repeatBatches: 0,
} as const;

describe('synthetic text', () => {
  it('is a pure function of (seed, example index): slices agree with the whole batch', () => {
    const a = new SyntheticText(spec, 32);
    const b = new SyntheticText(spec, 32);
    const whole = a.slice(3, 0, 32);
    const part = b.slice(3, 10, 20);
    expect(Array.from(part.inputs[0].data)).toEqual(Array.from(whole.inputs[0].data).slice(10 * 16, 20 * 16));
    expect(Array.from(part.target)).toEqual(Array.from(whole.target).slice(10, 20));
  });

  it('draws zipf ids in [1, vocab) with padding only in the tail, and plants class signal tokens', () => {
    const data = new SyntheticText(spec, 256);
    const batch = data.slice(0, 0, 256);
    const ids = batch.inputs[0].data;
    const counts = new Map<number, number>();
    for (let e = 0; e < 256; e++) {
      let padded = false;
      for (let l = 0; l < 16; l++) {
        const id = ids[e * 16 + l];
        expect(id).toBeLessThan(5000);
        if (id === 0) padded = true;
        else expect(padded).toBe(false); // no token after padding starts
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      const cls = batch.target[e];
      const signals = Array.from({ length: 16 }, (_, k) => data.signalToken(cls, k));
      expect(Array.from(ids.slice(e * 16, e * 16 + 16)).some((id) => signals.includes(id))).toBe(true);
    }
    expect(counts.get(1) ?? 0).toBeGreaterThan(counts.get(100) ?? 0); // rank 1 is the most frequent
  });

  it('cycles the first n batches when asked to (as the PyTorch anchor does)', () => {
    const data = new SyntheticText({ ...spec, repeatBatches: 2 }, 8);
    expect(data.slice(2, 0, 8)).toBe(data.slice(0, 0, 8));
    expect(Array.from(data.slice(3, 0, 8).target)).toEqual(Array.from(new SyntheticText(spec, 8).slice(1, 0, 8).target));
  });
});
