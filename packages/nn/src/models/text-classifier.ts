import { tableSpec } from '@rowshard/core';
import { crossEntropy } from '../losses.js';
import type { Batch, Model, ModelContext } from '../model.js';
import { relu } from '../ops/elementwise.js';
import { bagBounds } from '../ops/embedding-bag.js';
import { embeddingMean } from '../ops/embedding-mean.js';
import { linear } from '../ops/linear.js';
import type { Tensor } from '../tensor.js';

export interface TextClassifierOptions {
  vocabSize: number;
  embeddingDim: number;
  hiddenDim: number;
  numClasses: number;
  /** The seed model pads with id 0. */
  paddingIdx?: number | null;
  dropout?: number;
  maxNorm?: number | null;
}

/**
 * The seed's SimpleTextClassifier: Embedding(padding_idx=0) → mean over all L positions
 * (padding included, as `embedding(x).mean(dim=1)`) → fc1 → ReLU → Dropout → fc2,
 * trained with CrossEntropyLoss. Input: token ids [B, L].
 */
export function textClassifier(options: TextClassifierOptions): Model {
  const { vocabSize, embeddingDim: D, hiddenDim: H, numClasses: C } = options;
  const p = options.dropout ?? 0.1;
  return {
    name: 'text_classifier',
    task: 'classification',
    tables: [
      tableSpec({
        name: 'embedding',
        numEmbeddings: vocabSize,
        embeddingDim: D,
        paddingIdx: options.paddingIdx === undefined ? 0 : options.paddingIdx,
        maxNorm: options.maxNorm ?? null,
      }),
    ],
    dense: [
      { name: 'fc1.weight', shape: [H, D], init: { kind: 'linear', fanIn: D }, group: 'dense' },
      { name: 'fc1.bias', shape: [H], init: { kind: 'linear', fanIn: D }, group: 'dense' },
      { name: 'fc2.weight', shape: [C, H], init: { kind: 'linear', fanIn: H }, group: 'dense' },
      { name: 'fc2.bias', shape: [C], init: { kind: 'linear', fanIn: H }, group: 'dense' },
    ],
    rowsNeeded: (batch: Batch) => ({ embedding: [batch.inputs[0].data] }),
    // The sequence mean on the shards (sync.poolBags), padding counted as embeddingMean counts it.
    pooledBags: (batch: Batch) => ({
      embedding: { ids: batch.inputs[0].data, bounds: bagBounds(batch.inputs[0], {}, 'embedding'), mode: 'mean' },
    }),
    forward(ctx: ModelContext, batch: Batch): Tensor {
      const pooled = embeddingMean(ctx.table('embedding'), batch.inputs[0]);
      const h = relu(linear(pooled, ctx.param('fc1.weight'), ctx.param('fc1.bias')));
      return linear(ctx.dropout(h, p), ctx.param('fc2.weight'), ctx.param('fc2.bias'));
    },
    loss: (output: Tensor, batch: Batch) => crossEntropy(output, batch.target),
  };
}
