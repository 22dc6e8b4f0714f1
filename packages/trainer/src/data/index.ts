import { type DataSpec, ErrorCodes, RowshardError } from '@rowshard/core';
import type { BatchSource } from './batch-source.js';
import { CtrFileBatches } from './ctr-file.js';
import { FastTextBatches } from './fasttext-batches.js';
import { FastTextWordBatches } from './fasttext-word-batches.js';
import { FileBatches } from './file-batches.js';
import { FixtureBatches } from './fixture-batches.js';
import { SyntheticCtr } from './synthetic-ctr.js';
import { SyntheticText } from './synthetic-text.js';

export * from './batch-source.js';
export * from './ctr-file.js';
export * from './fasttext-batches.js';
export * from './fasttext-word-batches.js';
export * from './file-batches.js';
export * from './fixture-batches.js';
export * from './synthetic-ctr.js';
export * from './synthetic-text.js';
export * from './text-features.js';

export function openBatchSource(spec: DataSpec, batchSize: number): BatchSource {
  switch (spec.kind) {
    case 'fixture':
      return new FixtureBatches(spec.path);
    case 'synthetic_text':
      return new SyntheticText(spec, batchSize);
    case 'synthetic_ctr':
      return new SyntheticCtr(spec, batchSize);
    case 'ctr_file':
      return new CtrFileBatches(spec, batchSize);
    case 'file':
      if (spec.features === 'fasttext') return new FastTextBatches(spec, batchSize);
      if (spec.features === 'fasttext_skipgram' || spec.features === 'fasttext_cbow')
        return new FastTextWordBatches(spec, batchSize);
      return new FileBatches(spec, batchSize);
    default:
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `data.kind '${(spec as { kind: string }).kind}' is not supported`);
  }
}
export * from './text/index.js';
