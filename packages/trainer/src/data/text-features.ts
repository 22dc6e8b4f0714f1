import { type Batch, indexTensor } from '@rowshard/nn';
import type { LabelSet } from './text/labels.js';
import { fnv1a32, wordNgramBuckets } from './text/ngrams.js';
import { tokenize } from './text/tokenizer.js';
import type { Vocabulary } from './text/vocabulary.js';

/** Reserved rows of a 'sequence' vocabulary: padding (0, the text classifier's padding_idx) and unknown. */
export const SEQUENCE_RESERVED = ['<pad>', '<unk>'] as const;

/**
 * Turns texts into model inputs, the same way for training, evaluation, `rowshard test` and
 * `rowshard predict`:
 * - 'bag' (fastText): ids of in-vocabulary words, then, for wordNgrams > 1, the hashed
 *   n-gram buckets at numWords + bucket (hashes of every token, known or not, as fastText);
 * - 'sequence': word ids padded or cut to seqLen, unknown words as <unk>.
 */
export class TextFeaturizer {
  constructor(
    readonly vocab: Vocabulary,
    readonly features: 'bag' | 'sequence',
    readonly seqLen: number,
    readonly wordNgrams: number,
    readonly buckets: number,
  ) {}

  bagIds(text: string): number[] {
    const tokens = tokenize(text);
    const ids: number[] = [];
    for (const t of tokens) {
      const id = this.vocab.id(t);
      if (id !== undefined) ids.push(id);
    }
    if (this.wordNgrams > 1 && this.buckets > 0) {
      const hashes = tokens.map((t) => fnv1a32(t));
      for (const b of wordNgramBuckets(hashes, this.wordNgrams, this.buckets)) ids.push(this.vocab.size + b);
    }
    return ids;
  }

  sequenceIds(text: string, out: Int32Array, offset: number): void {
    const unk = this.vocab.id('<unk>') ?? 1;
    const tokens = tokenize(text);
    for (let i = 0; i < this.seqLen; i++) out[offset + i] = i < tokens.length ? (this.vocab.id(tokens[i]) ?? unk) : 0;
  }

  /** One batch from texts and label ids (a text with no known word is an empty bag). */
  batch(texts: readonly string[], targets: ArrayLike<number>): Batch {
    if (this.features === 'sequence') {
      const ids = new Int32Array(texts.length * this.seqLen);
      texts.forEach((t, i) => this.sequenceIds(t, ids, i * this.seqLen));
      return { inputs: [indexTensor([texts.length, this.seqLen], ids)], target: targets };
    }
    const all: number[] = [];
    const offsets: number[] = [];
    for (const t of texts) {
      offsets.push(all.length);
      for (const id of this.bagIds(t)) all.push(id);
    }
    return { inputs: [indexTensor([all.length], Int32Array.from(all))], offsets: [offsets], target: targets };
  }
}

/** The first label of a record as a class id; a label outside the training set is an error. */
export function labelId(labels: LabelSet, names: readonly string[], where: string): number {
  const id = labels.id(names[0]);
  if (id === undefined) throw new Error(`${where}: label '${names[0]}' did not occur in the training data`);
  return id;
}
