import { type DataSpec, exampleUniforms, featureId, philox4x32, streamKey, ZipfRanks } from '@rowshard/core';
import { type Batch, indexTensor } from '@rowshard/nn';
import type { BatchSource } from './batch-source.js';

type Spec = Extract<DataSpec, { kind: 'synthetic_ctr' }>;

/** Features whose frequent values carry the planted effect, and how many values each. */
const SIGNAL_FEATURES = 4;
const SIGNAL_VALUES = 64;
/** The planted logit: a bias (clicks are rarer than not), dense weights, per-value effects. */
const BIAS = -1;
const DENSE_WEIGHTS = [1.2, -0.8, 0.5];
const EFFECT = 1.5;

/**
 * Deterministic click-through data in Criteo's layout, made where it is used: example i of
 * the run is a pure function of (data seed, i), so any worker makes its slice of any batch
 * (as SyntheticText does). Each example has `numDense` floats in [-1, 1) and one raw 64-bit
 * id per categorical feature (value rank zipf(s) over `vocabSize`, id = featureId(f, rank));
 * its label is a draw from sigmoid(planted logit). The eval set is the same generator with
 * another seed: the same planted model, other examples.
 *
 * Batch layout: inputs[f] = feature f's ids, a BigUint64Array [B]; values[0] = dense [B, numDense].
 */
export class SyntheticCtr implements BatchSource {
  private readonly ranks: ZipfRanks;
  private readonly key;
  private readonly effectKey;

  constructor(
    private readonly spec: Spec,
    private readonly batchSize: number,
  ) {
    this.ranks = new ZipfRanks(spec.vocabSize, spec.zipfS);
    this.key = streamKey(spec.seed, 'synthetic_ctr');
    // The planted effects do not depend on the seed: train and eval data share one model.
    this.effectKey = streamKey(0, 'synthetic_ctr:effects');
  }

  private zipf(u: number): number {
    return this.ranks.rank(u);
  }

  /** The planted effect of value `rank` of feature `feature`: ±EFFECT for the frequent values of the first features. */
  effect(feature: number, rank: number): number {
    if (feature >= SIGNAL_FEATURES || rank >= SIGNAL_VALUES) return 0;
    const block = new Uint32Array(4);
    philox4x32(this.effectKey.k0, this.effectKey.k1, feature, rank, 0, 0, block);
    return block[0] & 1 ? EFFECT : -EFFECT;
  }

  slice(step: number, start: number, end: number): Batch {
    const { numDense, numCategorical } = this.spec;
    const n = end - start;
    const ids = Array.from({ length: numCategorical }, () => new BigUint64Array(n));
    const words = ids.map((a) => new Uint32Array(a.buffer));
    const dense = new Float32Array(n * numDense);
    const target = new Float32Array(n);
    const block = new Uint32Array(4);
    for (let e = 0; e < n; e++) {
      const example = step * this.batchSize + start + e;
      const next = exampleUniforms(this.key, example, block);
      let logit = BIAS;
      for (let j = 0; j < numDense; j++) {
        const x = 2 * next() - 1;
        dense[e * numDense + j] = x;
        if (j < DENSE_WEIGHTS.length) logit += DENSE_WEIGHTS[j] * x;
      }
      for (let f = 0; f < numCategorical; f++) {
        const rank = this.zipf(next());
        featureId(f, rank, words[f], e);
        logit += this.effect(f, rank);
      }
      target[e] = next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    }
    return {
      inputs: ids.map((a) => indexTensor([n], a)),
      values: [{ shape: [n, numDense], data: dense }],
      target,
    };
  }
}
