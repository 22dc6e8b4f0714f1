import { createReadStream, readFileSync } from 'node:fs';
import {
  decodeExamples,
  ErrorCodes,
  FastTextDictionary,
  type FileDataSpec,
  keptLines,
  linesOfBytes,
  parseDictionaryFileText,
  RowshardError,
  splitByteLines,
  streamWords,
  type TokenizedExample,
} from '@rowshard/core';
import { type Batch, indexTensor } from '@rowshard/nn';
import type { BatchSource } from './batch-source.js';
import { shuffled } from './text/shuffle.js';

/** One training example as fastText's supervised loop sees it: input rows and label indices. */
export type FastTextExample = TokenizedExample;

/** The dictionary options of a data spec with 'fasttext' features. */
export function dictionaryOptions(spec: FileDataSpec) {
  return {
    labelPrefix: spec.label,
    minn: spec.minn,
    maxn: spec.maxn,
    // fastText drops the buckets when nothing hashes into them (no word or character n-grams).
    bucket: fastTextBuckets(spec),
    wordNgrams: spec.wordNgrams,
    minCount: spec.minCount,
    minCountLabel: spec.minCountLabel,
  };
}

/** The bucket rows fastText keeps: none without word n-grams (wordNgrams 1) and character n-grams (maxn 0). */
export function fastTextBuckets(spec: Pick<FileDataSpec, 'wordNgrams' | 'maxn' | 'buckets'>): number {
  return spec.wordNgrams <= 1 && spec.maxn === 0 ? 0 : spec.buckets;
}

/** The words of a .vec file (`n dim`, then n lines of a word and dim numbers), read as fastText's `>>` reads them. */
export function vecFileWords(path: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: cannot read the vectors (${(e as Error).message})`, { file: path });
  }
  const tokens = streamWords(bytes);
  const n = Number(tokens[0]);
  const dim = Number(tokens[1]);
  if (!Number.isInteger(n) || !Number.isInteger(dim) || n < 0 || dim < 1)
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: not a .vec file (its first line must be 'count dim')`, { file: path });
  if (tokens.length < 2 + n * (dim + 1))
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: says ${n} vectors of ${dim} but is shorter`, { file: path });
  return Array.from({ length: n }, (_, i) => tokens[2 + i * (dim + 1)]);
}

/**
 * fastText's dictionary of a data spec's file: counted and thresholded, then, with
 * `pretrainedVectors`, joined by the vectors' words as fastText's -pretrainedVectors does.
 * With `keepTokens` it keeps a file of at most that many tokens for `builtExamples`
 * (FastTextDictionary.build).
 */
export function buildFastTextDictionary(spec: FileDataSpec, keepTokens = 0): FastTextDictionary {
  const dict = FastTextDictionary.build(readFileSync(spec.path), dictionaryOptions(spec), keepTokens);
  if (spec.pretrainedVectors) dict.addPretrainedWords(vecFileWords(spec.pretrainedVectors));
  return dict;
}

/** A file's lines as bytes, each with its \n, streamed. */
export function fileByteLines(path: string): AsyncGenerator<Uint8Array> {
  return splitByteLines(createReadStream(path));
}

/**
 * The examples of a file under a fastText dictionary, in file order: each line's input rows
 * (words or their subwords, `</s>`, word n-gram buckets) and labels. A line without a label or
 * without any input row is skipped, as fastText's supervised loop skips it; `skipped` counts them.
 */
export async function* fastTextExamples(
  path: string,
  dict: FastTextDictionary,
  skipped?: { count: number },
): AsyncGenerator<FastTextExample> {
  let n = 0;
  for await (const bytes of fileByteLines(path)) {
    n++;
    for (const line of linesOfBytes(dict, bytes)) {
      const example = trainingExample({ ...line, line: n }, skipped);
      if (example) yield example;
    }
  }
}

/** A line that trains: it has a label and an input row; else null, counted in `skipped`. */
function trainingExample(
  { ids, labels, line }: { ids: number[]; labels: number[]; line: number },
  skipped?: { count: number },
): FastTextExample | null {
  if (labels.length > 0 && ids.length > 0) return { ids, labels, line };
  if (skipped) skipped.count++;
  return null;
}

/**
 * fastTextExamples of the file a dictionary was built from with `keepTokens`, from the tokens it
 * kept instead of the text; null when it kept none (a longer file, or not asked).
 */
export function builtExamples(dict: FastTextDictionary, skipped?: { count: number }): Iterable<FastTextExample> | null {
  const lines = keptLines(dict);
  if (!lines) return null;
  return {
    *[Symbol.iterator]() {
      for (const line of lines) {
        const example = trainingExample(line, skipped);
        if (example) yield example;
      }
    },
  };
}

/** Examples from memory, as fastTextExamples gives them from the file. */
async function* keptExamples(examples: readonly FastTextExample[]): AsyncGenerator<FastTextExample> {
  yield* examples;
}

/**
 * Batches of fastText examples, ordered as FileBatches orders records (global example g is
 * example g mod N of pass floor(g / N), each pass through a shuffling buffer seeded with
 * seed + pass), so every worker computes the same order and takes its slice. A line with
 * several labels trains, on each visit, on one of them picked by its global index, as
 * fastText picks one at random per visit.
 */
export class FastTextBatches implements BatchSource {
  private readonly dict: FastTextDictionary;
  private readonly examples: number;
  private pass = -1;
  private position = 0;
  private iterator: AsyncIterator<FastTextExample> | null = null;
  /**
   * The file's examples in memory, from the dictionary pass's examples file (files of up to
   * KEPT_EXAMPLE_ROWS input rows), so that no pass tokenises the text again: fastText's
   * dictionary lookups and n-gram hashing were a fifth of a worker's time on the fortunes
   * corpus, and its first step waited for the whole file. Without it each pass reads the file.
   */
  private kept: FastTextExample[] | null = null;

  constructor(
    private readonly spec: FileDataSpec,
    private readonly batchSize: number,
  ) {
    if (!spec.vocabFile || !spec.examples) {
      throw new RowshardError(
        ErrorCodes.BAD_CONFIG,
        `data ${spec.path}: the dictionary pass has not run (vocabFile and examples are unset)`,
      );
    }
    this.dict = parseDictionaryFileText(readFileSync(spec.vocabFile, 'latin1'), spec.vocabFile, dictionaryOptions(spec));
    this.examples = spec.examples;
    if (spec.examplesFile) {
      this.kept = decodeExamples(readFileSync(spec.examplesFile), spec.examplesFile, {
        examples: spec.examples,
        rows: this.dict.inputRows,
        labels: this.dict.nlabels,
      });
    }
  }

  private open(pass: number): void {
    const examples = this.kept ? keptExamples(this.kept) : fastTextExamples(this.spec.path, this.dict);
    const stream = this.spec.shuffleBuffer > 0 ? shuffled(examples, this.spec.shuffleBuffer, this.spec.seed + pass) : examples;
    this.iterator = stream[Symbol.asyncIterator]();
    this.pass = pass;
    this.position = 0;
  }

  private async example(pass: number, position: number): Promise<FastTextExample> {
    if (pass !== this.pass || position < this.position || !this.iterator) this.open(pass);
    for (;;) {
      const next = await (this.iterator as AsyncIterator<FastTextExample>).next();
      if (next.done) {
        throw new RowshardError(
          ErrorCodes.BAD_DATA,
          `${this.spec.path}: ended after ${this.position} examples; the dictionary pass counted ${this.examples}`,
          { file: this.spec.path },
        );
      }
      this.position++;
      if (this.position - 1 === position) return next.value;
    }
  }

  async slice(step: number, start: number, end: number): Promise<Batch> {
    const all: number[] = [];
    const offsets: number[] = [];
    const targets = new Int32Array(end - start);
    for (let i = start; i < end; i++) {
      const g = step * this.batchSize + i;
      const ex = await this.example(Math.floor(g / this.examples), g % this.examples);
      offsets.push(all.length);
      for (const id of ex.ids) all.push(id);
      targets[i - start] = ex.labels.length === 1 ? ex.labels[0] : ex.labels[(Math.imul(g, 2654435761) >>> 0) % ex.labels.length];
    }
    return { inputs: [indexTensor([all.length], Int32Array.from(all))], offsets: [offsets], target: targets };
  }
}
