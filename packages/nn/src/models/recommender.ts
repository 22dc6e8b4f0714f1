import { tableSpec } from '@rowshard/core';
import { mseLoss } from '../losses.js';
import type { Batch, Model, ModelContext } from '../model.js';
import { embeddingLookup } from '../ops/embedding.js';
import { rowDot } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';

export interface RecommenderOptions {
  numUsers: number;
  numItems: number;
  embeddingDim: number;
}

/**
 * The seed's RecommendationModel: score = sum(user_emb · item_emb, dim=1), MSELoss against
 * the rating. Inputs: user ids [B], item ids [B].
 */
export function recommender(options: RecommenderOptions): Model {
  const D = options.embeddingDim;
  return {
    name: 'recommender',
    task: 'regression',
    tables: [
      tableSpec({ name: 'user_embedding', numEmbeddings: options.numUsers, embeddingDim: D }),
      tableSpec({ name: 'item_embedding', numEmbeddings: options.numItems, embeddingDim: D }),
    ],
    dense: [],
    rowsNeeded: (batch: Batch) => ({
      user_embedding: [batch.inputs[0].data],
      item_embedding: [batch.inputs[1].data],
    }),
    forward(ctx: ModelContext, batch: Batch): Tensor {
      const u = embeddingLookup(ctx.table('user_embedding'), batch.inputs[0]);
      const i = embeddingLookup(ctx.table('item_embedding'), batch.inputs[1]);
      return rowDot(u, i);
    },
    loss: (output: Tensor, batch: Batch) => mseLoss(output, batch.target),
  };
}
