import { type DataSpec, exampleUniforms, streamKey, ZipfRanks } from '@rowshard/core';
import { type Batch, indexTensor } from '@rowshard/nn';
import type { BatchSource } from './batch-source.js';

type Spec = Extract<DataSpec, { kind: 'synthetic_text' }>;

/** Signal tokens per class: mid-frequency ranks, frequent enough to be learned quickly. */
const SIGNALS_PER_CLASS = 16;
const SIGNAL_FIRST_RANK = 50;
const SIGNALS_PER_EXAMPLE = 3;

/**
 * Deterministic synthetic text, generated where it is used: example i of the whole run is a
 * pure function of (data seed, i), so any worker can make its slice of any batch.
 *
 * Token ids follow zipf(s) over [1, vocabSize) (0 is padding), like words in real text. The
 * label is either the anchor benchmark's (parity of the first token: hard for a mean-pooling
 * model, used only for speed), or a planted rule: each class owns a set of mid-frequency
 * "signal" tokens, and every example carries three of its class's among the noise, with a
 * padded tail of random length. A mean-of-embeddings model learns the rule well above chance.
 */
export class SyntheticText implements BatchSource {
  private readonly ranks: ZipfRanks;
  private readonly key;
  private readonly cache = new Map<string, Batch>();

  constructor(
    private readonly spec: Spec,
    private readonly batchSize: number,
  ) {
    this.ranks = new ZipfRanks(spec.vocabSize - 1, spec.zipfS);
    this.key = streamKey(spec.seed, 'synthetic_text');
  }

  /** A token id (1 .. vocabSize-1) for uniform u: rank by inverse CDF, id = rank + 1. */
  private zipf(u: number): number {
    return this.ranks.rank(u) + 1;
  }

  signalToken(cls: number, k: number): number {
    return Math.min(this.spec.vocabSize - 1, SIGNAL_FIRST_RANK + cls * SIGNALS_PER_CLASS + k + 1);
  }

  slice(step: number, start: number, end: number): Batch {
    const repeat = this.spec.repeatBatches;
    if (repeat > 0) {
      // Cycled batches are made once per worker and kept (batches are immutable downstream).
      const key = `${step % repeat}:${start}:${end}`;
      let batch = this.cache.get(key);
      if (!batch) {
        batch = this.generate(step % repeat, start, end);
        this.cache.set(key, batch);
      }
      return batch;
    }
    return this.generate(step, start, end);
  }

  private generate(step: number, start: number, end: number): Batch {
    const L = this.spec.seqLen;
    const n = end - start;
    const ids = new Int32Array(n * L);
    const target = new Int32Array(n);
    const block = new Uint32Array(4);
    for (let e = 0; e < n; e++) {
      const example = step * this.batchSize + start + e;
      const next = exampleUniforms(this.key, example, block);
      const row = e * L;
      for (let l = 0; l < L; l++) ids[row + l] = this.zipf(next());
      if (this.spec.rule === 'first_token_parity') {
        target[e] = ids[row] % this.spec.numClasses;
        continue;
      }
      const cls = Math.floor(next() * this.spec.numClasses);
      target[e] = cls;
      const length = Math.max(SIGNALS_PER_EXAMPLE, Math.ceil(L / 2 + next() * (L / 2)));
      for (let l = length; l < L; l++) ids[row + l] = 0;
      for (let k = 0; k < SIGNALS_PER_EXAMPLE; k++) {
        const pos = Math.floor(next() * length);
        ids[row + pos] = this.signalToken(cls, Math.floor(next() * SIGNALS_PER_CLASS));
      }
    }
    return { inputs: [indexTensor([n, L], ids)], target };
  }
}
