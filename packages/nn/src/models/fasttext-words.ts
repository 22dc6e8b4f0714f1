import { numericIds, tableSpec } from '@rowshard/core';
import { binaryLogisticTerms } from '../losses.js';
import type { Batch, Model, ModelContext } from '../model.js';
import { bagMeanFullGrad } from '../ops/bag-mean-full-grad.js';
import { embeddingLookup } from '../ops/embedding.js';
import { embeddingBag } from '../ops/embedding-bag.js';
import { rowDot } from '../ops/row-dot.js';
import type { Tensor } from '../tensor.js';

export interface FastTextWordsOptions {
  /** Words of the dictionary: rows [0, numWords) of the input table, and the rows of the output table. */
  numWords: number;
  /** Character n-gram buckets: rows [numWords, numWords + buckets) of the input table. */
  buckets: number;
  embeddingDim: number;
  /**
   * How a batch's terms make its loss: `mean` (default, for Adagrad and Adam) or `sum`, the
   * sum of fastText's per-example updates, for SGD at fastText's rates.
   */
  reduction?: 'mean' | 'sum';
}

/**
 * fastText's word vectors (skipgram and cbow with negative sampling; Bojanowski et al., 2017):
 * the mean of an example's input rows (a word and its character n-grams for skipgram, the
 * context's for cbow) scored against output rows (the targets and their negatives), binary
 * logistic loss. Both matrices are tables on the parameter servers, so a vocabulary of
 * millions costs a batch only the rows it touches; inits as fastText's (input U(-1/dim,
 * 1/dim), output zeros). The batch source draws windows, subsampling and negatives:
 * inputs[0] the bags (offsets[0]), inputs[1] the output rows, inputs[2] each output row's
 * example, target 1 for a true target and 0 for a negative.
 */
export function fastTextWords(options: FastTextWordsOptions): Model {
  const { numWords, buckets, embeddingDim: D } = options;
  return {
    name: 'fasttext_words',
    task: 'regression',
    lossReduction: options.reduction ?? 'mean',
    tables: [
      tableSpec({
        name: 'embedding',
        numEmbeddings: numWords + buckets,
        embeddingDim: D,
        init: { kind: 'uniform', a: -1 / D, b: 1 / D },
      }),
      tableSpec({ name: 'output', numEmbeddings: numWords, embeddingDim: D, init: { kind: 'zeros' } }),
    ],
    dense: [],
    rowsNeeded: (batch: Batch) => ({ embedding: [batch.inputs[0].data], output: [batch.inputs[1].data] }),
    forward(ctx: ModelContext, batch: Batch): Tensor {
      const offsets = batch.offsets?.[0] ?? [];
      const sums = embeddingBag(ctx.table('embedding'), batch.inputs[0], { mode: 'sum', offsets });
      const h = bagMeanFullGrad(sums, offsets, batch.inputs[0].data.length);
      const o = embeddingLookup(ctx.table('output'), batch.inputs[1]);
      return rowDot(h, numericIds(batch.inputs[2].data, 'fasttext_words inputs[2]'), o);
    },
    loss: (output: Tensor, batch: Batch) => {
      const k = batch.target.length;
      const rows = new Int32Array(k);
      for (let i = 0; i < k; i++) rows[i] = i;
      return binaryLogisticTerms(output, rows, new Int32Array(k), batch.target, options.reduction ?? 'mean');
    },
  };
}
