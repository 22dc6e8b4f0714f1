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
  splitByteLineChunks,
  splitByteLines,
  streamWords,
  type TokenizedExample,
} from '@rowshard/core';
import { type Batch, indexTensor } from '@rowshard/nn';
import type { BatchSource } from './batch-source.js';
import { ShuffleBuffer } from './text/shuffle.js';

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
  for await (const examples of fastTextExampleChunks(path, dict, skipped)) yield* examples;
}

/**
 * fastTextExamples a read of the file at a time: the examples of the lines each read
 * completes. A worker reading a corpus too large to keep awaits once a read (64 KiB, a few
 * hundred lines) instead of once an example through three generators: on a 44 MB corpus the
 * awaits, their garbage and the copies made a worker's reading 2.8 s, of which tokenising was 1.0 s.
 */
export async function* fastTextExampleChunks(
  path: string,
  dict: FastTextDictionary,
  skipped?: { count: number },
): AsyncGenerator<FastTextExample[]> {
  let n = 0;
  for await (const lines of splitByteLineChunks(createReadStream(path))) {
    const examples: FastTextExample[] = [];
    for (const bytes of lines) {
      n++;
      for (const { ids, labels } of linesOfBytes(dict, bytes)) {
        const example = trainingExample(ids, labels, n, skipped);
        if (example) examples.push(example);
      }
    }
    if (examples.length > 0) yield examples;
  }
}

/** A line that trains: it has a label and an input row; else null, counted in `skipped`. */
function trainingExample(ids: number[], labels: number[], line: number, skipped?: { count: number }): FastTextExample | null {
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
      for (const { ids, labels, line } of lines) {
        const example = trainingExample(ids, labels, line, skipped);
        if (example) yield example;
      }
    },
  };
}

/**
 * One pass's examples in order, through the shuffling buffer when there is one: from the kept
 * examples (all at once), or from the file a read at a time. `take` gives what is ready without
 * waiting; `more` reads on until something is.
 */
class PassExamples {
  private ready: readonly FastTextExample[] = [];
  private at = 0;
  private ended = false;

  constructor(
    private readonly chunks: Iterator<readonly FastTextExample[]> | AsyncIterator<readonly FastTextExample[]>,
    private readonly shuffle: ShuffleBuffer<FastTextExample> | null,
  ) {}

  /** The pass's next example if it is ready, else undefined (then `more`). */
  take(): FastTextExample | undefined {
    return this.at < this.ready.length ? this.ready[this.at++] : undefined;
  }

  /** Reads until examples are ready; false once the pass has none left. */
  async more(): Promise<boolean> {
    while (this.at >= this.ready.length) {
      if (this.ended) return false;
      const next = await this.chunks.next();
      const emitted: FastTextExample[] = [];
      if (next.done) {
        this.ended = true;
        this.shuffle?.drain(emitted);
      } else if (!this.shuffle) {
        this.ready = next.value;
        this.at = 0;
        continue;
      } else {
        for (const example of next.value) this.shuffle.add(example, emitted);
      }
      this.ready = emitted;
      this.at = 0;
    }
    return true;
  }
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
  /** The pass being read: none yet (pass −1), until the first slice opens one. */
  private reader = new PassExamples([][Symbol.iterator](), null);
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

  private open(pass: number): PassExamples {
    const chunks = this.kept
      ? [this.kept][Symbol.iterator]()
      : fastTextExampleChunks(this.spec.path, this.dict)[Symbol.asyncIterator]();
    const shuffle =
      this.spec.shuffleBuffer > 0 ? new ShuffleBuffer<FastTextExample>(this.spec.shuffleBuffer, this.spec.seed + pass) : null;
    this.reader = new PassExamples(chunks, shuffle);
    this.pass = pass;
    this.position = 0;
    return this.reader;
  }

  /** Example `position` of pass `pass` if it is ready without reading the file, else undefined. */
  private readyExample(pass: number, position: number): FastTextExample | undefined {
    const reader = pass !== this.pass || position < this.position ? this.open(pass) : this.reader;
    for (let example = reader.take(); example; example = reader.take()) {
      this.position++;
      if (this.position - 1 === position) return example;
    }
    return undefined;
  }

  private async example(pass: number, position: number): Promise<FastTextExample> {
    for (;;) {
      const example = this.readyExample(pass, position);
      if (example) return example;
      if (!(await this.reader.more())) {
        throw new RowshardError(
          ErrorCodes.BAD_DATA,
          `${this.spec.path}: ended after ${this.position} examples; the dictionary pass counted ${this.examples}`,
          { file: this.spec.path },
        );
      }
    }
  }

  async slice(step: number, start: number, end: number): Promise<Batch> {
    const picked: FastTextExample[] = new Array(end - start);
    let rows = 0;
    for (let i = start; i < end; i++) {
      const g = step * this.batchSize + i;
      const pass = Math.floor(g / this.examples);
      const position = g % this.examples;
      // Awaited only where the file must be read: an await per example was most of a kept corpus's reading.
      const example = this.readyExample(pass, position) ?? (await this.example(pass, position));
      picked[i - start] = example;
      rows += example.ids.length;
    }
    const ids = new Int32Array(rows);
    const offsets: number[] = new Array(picked.length);
    const targets = new Int32Array(picked.length);
    for (let k = 0, at = 0; k < picked.length; k++) {
      const { ids: exampleIds, labels } = picked[k];
      const g = step * this.batchSize + start + k;
      offsets[k] = at;
      ids.set(exampleIds, at);
      at += exampleIds.length;
      targets[k] = labels.length === 1 ? labels[0] : labels[(Math.imul(g, 2654435761) >>> 0) % labels.length];
    }
    return { inputs: [indexTensor([rows], ids)], offsets: [offsets], target: targets };
  }
}
