import { readFileSync } from 'node:fs';
import { ErrorCodes, type FileDataSpec, RowshardError } from '@rowshard/core';
import type { Batch } from '@rowshard/nn';
import type { BatchSource } from './batch-source.js';
import { LabelSet } from './text/labels.js';
import type { LocatedRecord } from './text/record-decoder.js';
import { shuffled } from './text/shuffle.js';
import { readRecords } from './text/stream.js';
import { Vocabulary } from './text/vocabulary.js';
import { TextFeaturizer } from './text-features.js';

/**
 * Batches streamed from a text file. Global example g is example g mod N of pass
 * floor(g / N), where each pass reads the file through a shuffling buffer seeded with
 * (seed + pass): every worker computes the same order and keeps only its slice of each
 * global batch, so data is split without overlap and nothing is shipped between processes.
 * Reading is sequential; a rewind (after a restore) reopens the pass and skips ahead.
 */
export class FileBatches implements BatchSource {
  private readonly featurizer: TextFeaturizer;
  private readonly labels: LabelSet;
  private readonly examples: number;
  private pass = -1;
  private position = 0;
  private iterator: AsyncIterator<LocatedRecord> | null = null;

  constructor(
    private readonly spec: FileDataSpec,
    private readonly batchSize: number,
  ) {
    if (!spec.vocabFile || !spec.labelsFile || !spec.examples) {
      throw new RowshardError(
        ErrorCodes.BAD_CONFIG,
        `data ${spec.path}: the vocabulary pass has not run (vocabFile, labelsFile and examples are unset)`,
      );
    }
    if (spec.features !== 'bag' && spec.features !== 'sequence')
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `data ${spec.path}: fastText features are read by FastTextBatches`);
    const vocab = Vocabulary.fromText(readFileSync(spec.vocabFile, 'utf8'), spec.vocabFile);
    this.labels = LabelSet.fromText(readFileSync(spec.labelsFile, 'utf8'), spec.labelsFile);
    const features: 'bag' | 'sequence' = spec.features;
    this.featurizer = new TextFeaturizer(vocab, features, spec.seqLen, spec.wordNgrams, spec.buckets);
    this.examples = spec.examples;
  }

  private open(pass: number): void {
    const records = readRecords(this.spec.path, this.spec.format, {
      header: this.spec.header,
      ...(this.spec.columns ? { columns: this.spec.columns } : {}),
    });
    const stream = this.spec.shuffleBuffer > 0 ? shuffled(records, this.spec.shuffleBuffer, this.spec.seed + pass) : records;
    this.iterator = stream[Symbol.asyncIterator]();
    this.pass = pass;
    this.position = 0;
  }

  /** The record at position `position` of pass `pass`, reading forward (reopening if behind). */
  private async record(pass: number, position: number): Promise<LocatedRecord> {
    if (pass !== this.pass || position < this.position || !this.iterator) this.open(pass);
    for (;;) {
      const next = await (this.iterator as AsyncIterator<LocatedRecord>).next();
      if (next.done) {
        throw new RowshardError(
          ErrorCodes.BAD_DATA,
          `${this.spec.path}: ended after ${this.position} examples; the vocabulary pass counted ${this.examples}`,
          {
            file: this.spec.path,
          },
        );
      }
      this.position++;
      if (this.position - 1 === position) return next.value;
    }
  }

  async slice(step: number, start: number, end: number): Promise<Batch> {
    const texts: string[] = [];
    const targets = new Int32Array(end - start);
    for (let i = start; i < end; i++) {
      const g = step * this.batchSize + i;
      const { record, line } = await this.record(Math.floor(g / this.examples), g % this.examples);
      texts.push(record.text);
      const id = this.labels.id(record.labels[0]);
      if (id === undefined) {
        throw new RowshardError(
          ErrorCodes.BAD_DATA,
          `${this.spec.path}:${line}: label '${record.labels[0]}' is not in ${this.spec.labelsFile}`,
          {
            file: this.spec.path,
            line,
          },
        );
      }
      targets[i - start] = id;
    }
    return this.featurizer.batch(texts, targets);
  }
}
