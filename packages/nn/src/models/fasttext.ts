import { tableSpec } from '@rowshard/core';
import { crossEntropy } from '../losses.js';
import type { Batch, Model, ModelContext } from '../model.js';
import { embeddingBag } from '../ops/embedding-bag.js';
import { linear } from '../ops/linear.js';
import type { Tensor } from '../tensor.js';

export interface FastTextOptions {
  /** Words in the vocabulary: rows [0, numWords) of the input table. */
  numWords: number;
  /** Hashed n-gram buckets: rows [numWords, numWords + buckets). fastText's default is 2,000,000. */
  buckets: number;
  embeddingDim: number;
  numClasses: number;
}

/**
 * A fastText-style supervised classifier (Joulin et al., 2016): the mean of the input rows of
 * a text's words and of its hashed word n-gram buckets (one EmbeddingBag), then a Linear
 * layer without bias, softmax loss. Inits follow fastText: input rows U(-1/dim, 1/dim),
 * output matrix zeros. Input: ids flat [N] with bag offsets [B].
 */
export function fastTextClassifier(options: FastTextOptions): Model {
  const { numWords, buckets, embeddingDim: D, numClasses: C } = options;
  const table = tableSpec({
    name: 'embedding',
    numEmbeddings: numWords + buckets,
    embeddingDim: D,
    init: { kind: 'uniform', a: -1 / D, b: 1 / D },
  });
  return {
    name: 'fasttext',
    task: 'classification',
    tables: [table],
    dense: [{ name: 'fc.weight', shape: [C, D], init: { kind: 'zeros' }, group: 'dense' }],
    rowsNeeded: (batch: Batch) => ({ embedding: [batch.inputs[0].data] }),
    forward(ctx: ModelContext, batch: Batch): Tensor {
      const h = embeddingBag(ctx.table('embedding'), batch.inputs[0], {
        mode: 'mean',
        offsets: batch.offsets?.[0] ?? null,
      });
      return linear(h, ctx.param('fc.weight'), null);
    },
    loss: (output: Tensor, batch: Batch) => crossEntropy(output, batch.target),
  };
}
