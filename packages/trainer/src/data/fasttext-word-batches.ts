import { readFileSync } from 'node:fs';
import {
  EOS,
  ErrorCodes,
  type FastTextDictionary,
  type FileDataSpec,
  parseDictionaryFileText,
  RowshardError,
  WordReader,
} from '@rowshard/core';
import { type Batch, indexTensor } from '@rowshard/nn';
import type { BatchSource } from './batch-source.js';
import { dictionaryOptions, fileByteLines } from './fasttext-batches.js';

/** fastText reads at most this many known tokens as one line (`MAX_LINE_SIZE`); a longer line continues as the next. */
const MAX_LINE_SIZE = 1024;

/** A uniform draw in [0, 1) from a counter: the same for every worker and run, whatever the order of reads. */
export function counterUniform(seed: number, pass: number, index: number, stream: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(pass + 0x632be5ab, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(index + 0x27d4eb2f, 0x165667b1);
  h = Math.imul(h ^ (h >>> 13), 0x297a2d39) ^ Math.imul(stream + 0x1b873593, 0xcc9e2d51);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** A stretch of a file's known words, as fastText's unsupervised `getLine` returns them. */
interface WordLine {
  /** Global index (in the pass) of its first word. */
  readonly start: number;
  readonly words: readonly number[];
}

/**
 * The known words of a file in fastText's lines, as its unsupervised `getLine` reads them:
 * unknown tokens are passed over first, then a line ends after MAX_LINE_SIZE known tokens or at
 * `</s>` (a \n, or the word written out). Labels and unknown words are left out; `</s>` is a word.
 * So where `</s>` is not in the dictionary (a file of fewer lines than -minCount), fastText's
 * lines run on across the \n, and so do these.
 */
async function* wordLines(path: string, dict: FastTextDictionary): AsyncGenerator<WordLine> {
  let start = 0;
  let words: number[] = [];
  let known = 0;
  for await (const bytes of fileByteLines(path)) {
    const reader = new WordReader(bytes);
    for (let token = reader.readWord(); token !== null; token = reader.readWord()) {
      const id = dict.getId(token);
      if (id < 0) continue;
      known++;
      if (id < dict.nwords) words.push(id);
      if (known > MAX_LINE_SIZE || token === EOS) {
        if (words.length > 0) yield { start, words };
        start += words.length;
        words = [];
        known = 0;
      }
    }
  }
  if (words.length > 0) yield { start, words };
}

/** The number of examples of a pass: every known word of the file (a subsampled one is an empty example). */
export async function countWordExamples(path: string, dict: FastTextDictionary): Promise<number> {
  let n = 0;
  for await (const line of wordLines(path, dict)) n += line.words.length;
  return n;
}

/**
 * Batches for fastText's word vectors. Example g of a pass is the g-th known word of the
 * file (fastText's order; no shuffling, as fastText reads its file in order). Every draw
 * fastText makes at random is drawn here from a counter keyed by (seed, pass, word index):
 * whether a word is subsampled away (kept with probability √(t/f) + t/f), its window (1..ws),
 * and its negatives (∝ count^0.5, never the target), so every worker builds the same batch.
 * skipgram: the bag is the word's rows (itself and its character n-grams), the targets its
 * window's words; cbow: the bag is the window's words' rows, the target the word. A
 * subsampled word, or one with an empty window, is an empty example.
 */
export class FastTextWordBatches implements BatchSource {
  private readonly dict: FastTextDictionary;
  private readonly examples: number;
  private readonly keep: Float64Array;
  private readonly negCumulative: Float64Array;
  private pass = -1;
  private iterator: AsyncIterator<WordLine> | null = null;
  private line: WordLine | null = null;
  /** The words of `line` kept in this pass, and each word's place among them (-1: subsampled). */
  private kept: number[] = [];
  private keptAt: Int32Array = new Int32Array(0);

  constructor(
    private readonly spec: FileDataSpec,
    private readonly batchSize: number,
  ) {
    if (!spec.vocabFile || !spec.examples)
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `data ${spec.path}: the dictionary pass has not run`);
    this.dict = parseDictionaryFileText(readFileSync(spec.vocabFile, 'latin1'), spec.vocabFile, dictionaryOptions(spec));
    this.examples = spec.examples;
    const n = this.dict.nwords;
    this.keep = new Float64Array(n);
    this.negCumulative = new Float64Array(n);
    let z = 0;
    for (let i = 0; i < n; i++) {
      const f = this.dict.entries[i].count / this.dict.ntokens;
      this.keep[i] = Math.sqrt(spec.t / f) + spec.t / f;
      this.negCumulative[i] = z += Math.sqrt(this.dict.entries[i].count);
    }
  }

  private kind(): 'skipgram' | 'cbow' {
    return this.spec.features === 'fasttext_cbow' ? 'cbow' : 'skipgram';
  }

  /** The line holding word `index` of pass `pass`, reading forward (reopening if behind). */
  private async lineOf(pass: number, index: number): Promise<WordLine> {
    if (pass !== this.pass || !this.line || index < this.line.start) {
      this.iterator = wordLines(this.spec.path, this.dict)[Symbol.asyncIterator]();
      this.pass = pass;
      this.line = null;
    }
    while (!this.line || index >= this.line.start + this.line.words.length) {
      const next = await (this.iterator as AsyncIterator<WordLine>).next();
      if (next.done)
        throw new RowshardError(
          ErrorCodes.BAD_DATA,
          `${this.spec.path}: has fewer words than the dictionary pass counted (${this.examples})`,
          {
            file: this.spec.path,
          },
        );
      this.line = next.value;
      this.kept = [];
      this.keptAt = new Int32Array(next.value.words.length).fill(-1);
      next.value.words.forEach((w, i) => {
        if (counterUniform(this.spec.seed, pass, next.value.start + i, 0) <= this.keep[w]) {
          this.keptAt[i] = this.kept.length;
          this.kept.push(w);
        }
      });
    }
    return this.line;
  }

  private negative(target: number, pass: number, index: number, draw: number): number {
    const c = this.negCumulative;
    const n = c.length;
    for (let attempt = 0; ; attempt++) {
      const u = counterUniform(this.spec.seed, pass, index, 1000 + draw * 64 + attempt) * c[n - 1];
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (c[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      if (lo !== target || n < 2 || attempt > 60) return lo;
    }
  }

  async slice(step: number, start: number, end: number): Promise<Batch> {
    const bag: number[] = [];
    const offsets: number[] = [];
    const outputs: number[] = [];
    const owner: number[] = [];
    const target: number[] = [];
    const neg = this.spec.neg;
    const addTarget = (row: number, t: number, pass: number, index: number, draw: number) => {
      outputs.push(t);
      owner.push(row);
      target.push(1);
      for (let k = 0; k < neg; k++) {
        outputs.push(this.negative(t, pass, index, draw * neg + k));
        owner.push(row);
        target.push(0);
      }
    };
    for (let i = start; i < end; i++) {
      const row = i - start;
      offsets.push(bag.length);
      const g = step * this.batchSize + i;
      const pass = Math.floor(g / this.examples);
      const index = g % this.examples;
      const line = await this.lineOf(pass, index);
      const at = this.keptAt[index - line.start];
      if (at < 0) continue;
      const boundary = 1 + Math.floor(counterUniform(this.spec.seed, pass, index, 1) * this.spec.ws);
      const context: number[] = [];
      for (let c = -boundary; c <= boundary; c++)
        if (c !== 0 && at + c >= 0 && at + c < this.kept.length) context.push(this.kept[at + c]);
      if (context.length === 0) continue;
      if (this.kind() === 'skipgram') {
        bag.push(...this.dict.subwordsOfId(this.kept[at]));
        context.forEach((w, d) => addTarget(row, w, pass, index, d));
      } else {
        for (const w of context) bag.push(...this.dict.subwordsOfId(w));
        addTarget(row, this.kept[at], pass, index, 0);
      }
    }
    return {
      inputs: [
        indexTensor([bag.length], Int32Array.from(bag)),
        indexTensor([outputs.length], Int32Array.from(outputs)),
        indexTensor([owner.length], Int32Array.from(owner)),
      ],
      offsets: [offsets],
      target: Float32Array.from(target),
    };
  }
}
