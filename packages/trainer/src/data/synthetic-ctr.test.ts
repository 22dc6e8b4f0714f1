import { featureId, parseDataSpec, parseOptimizerGroups } from '@rowshard/core';
import { builtinModel, LocalTrainer, rocAuc } from '@rowshard/nn';
import { describe, expect, it } from 'vitest';
import { sliceBatch } from './batch-source.js';
import { SyntheticCtr } from './synthetic-ctr.js';

const spec = (o: Record<string, unknown> = {}) =>
  parseDataSpec({ kind: 'synthetic_ctr', vocabSize: 200, numDense: 3, numCategorical: 4, ...o }) as Extract<
    ReturnType<typeof parseDataSpec>,
    { kind: 'synthetic_ctr' }
  >;

describe('featureId', () => {
  it('is (f·2^32 + v + 1) · 0x9e3779b97f4a7c15 mod 2^64, exactly', () => {
    const out = new Uint32Array(2);
    for (const [f, v] of [
      [0, 0],
      [3, 123456],
      [25, 4e9],
      [1, 2 ** 31 + 5],
    ]) {
      featureId(f, v, out, 0);
      const got = (BigInt(out[1]) << 32n) | BigInt(out[0]);
      expect(got).toBe(BigInt.asUintN(64, (BigInt(f) * 2n ** 32n + BigInt(v) + 1n) * 0x9e3779b97f4a7c15n));
    }
  });
});

describe('synthetic CTR data', () => {
  it('is a pure function of (seed, example): a worker slice equals the slice of the whole batch', () => {
    const a = new SyntheticCtr(spec(), 16);
    const whole = a.slice(3, 0, 16);
    const part = new SyntheticCtr(spec(), 16).slice(3, 4, 10);
    const cut = sliceBatch(whole, 4, 10);
    expect(part.inputs.map((t) => [...t.data])).toEqual(cut.inputs.map((t) => [...t.data]));
    expect(part.values?.[0].data).toEqual(cut.values?.[0].data);
    expect([...part.target]).toEqual([...cut.target]);
    expect(whole.inputs[0].data).toBeInstanceOf(BigUint64Array);
    expect(whole.values?.[0].shape).toEqual([16, 3]);
  });

  it('rejects a bad field by name', () => {
    expect(() => parseDataSpec({ kind: 'synthetic_ctr' })).toThrow(/data\.vocabSize/);
    expect(() => parseDataSpec({ kind: 'synthetic_ctr', vocabSize: 10, numCategorical: 0 })).toThrow(/data\.numCategorical/);
    expect(() => parseDataSpec({ kind: 'synthetic_ctr', vocabSize: 10, colour: 1 })).toThrow(/colour/);
  });

  it('the ctr model learns its planted signal in one process (held-out loss below the base rate)', () => {
    const train = new SyntheticCtr(spec({ seed: 1 }), 128);
    const held = new SyntheticCtr(spec({ seed: 2 }), 512).slice(0, 0, 512);
    const model = builtinModel('ctr', { numDense: 3, numCategorical: 4, embeddingDim: 4, hiddenDim: 16, tableSize: 1000 });
    const trainer = new LocalTrainer({
      model,
      groups: parseOptimizerGroups({ embeddings: { kind: 'adagrad', lr: 0.1 }, dense: { kind: 'adam', lr: 0.01 } }),
      seed: 1,
    });
    for (let t = 0; t < 150; t++) trainer.trainStep(train.slice(t, 0, 128));
    const p = [...held.target].reduce((a, b) => a + b, 0) / held.target.length;
    const baseRate = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    const out = trainer.predict(held);
    let loss = 0;
    for (let i = 0; i < out.size; i++) {
      const x = out.data[i];
      loss += Math.max(x, 0) - x * held.target[i] + Math.log1p(Math.exp(-Math.abs(x)));
    }
    expect(loss / out.size).toBeLessThan(baseRate - 0.05);
    expect(rocAuc(out.data, held.target)).toBeGreaterThan(0.75);
  });
});
