import { tableSpec } from '@rowshard/core';
import { mseLoss } from '../losses.js';
import type { Batch, Model, ModelContext } from '../model.js';
import { reshape } from '../ops/elementwise.js';
import { embeddingLookup } from '../ops/embedding.js';
import { linear } from '../ops/linear.js';
import { concatLast } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';

export interface CategoryFeature {
  /** Feature name; its table is `${name}_embedding`, as in the seed. */
  name: string;
  numEmbeddings: number;
  embeddingDim: number;
}

/** The seed's three categorical features: category 100×32, brand 500×16, location 50×8. */
export const seedCategoryFeatures: readonly CategoryFeature[] = Object.freeze([
  { name: 'category', numEmbeddings: 100, embeddingDim: 32 },
  { name: 'brand', numEmbeddings: 500, embeddingDim: 16 },
  { name: 'location', numEmbeddings: 50, embeddingDim: 8 },
]);

/**
 * The seed's CategoryModel: one table per categorical feature, looked-up rows concatenated
 * into Linear(Σdim, 1), MSELoss on the squeezed output. Inputs: one id tensor [B] per feature.
 */
export function categoryModel(features: readonly CategoryFeature[] = seedCategoryFeatures): Model {
  const total = features.reduce((a, f) => a + f.embeddingDim, 0);
  const tables = features.map((f) =>
    tableSpec({ name: `${f.name}_embedding`, numEmbeddings: f.numEmbeddings, embeddingDim: f.embeddingDim }),
  );
  return {
    name: 'category_model',
    task: 'regression',
    tables,
    dense: [
      { name: 'fc.weight', shape: [1, total], init: { kind: 'linear', fanIn: total }, group: 'dense' },
      { name: 'fc.bias', shape: [1], init: { kind: 'linear', fanIn: total }, group: 'dense' },
    ],
    rowsNeeded: (batch: Batch) => Object.fromEntries(tables.map((t, k) => [t.name, [batch.inputs[k].data]])),
    forward(ctx: ModelContext, batch: Batch): Tensor {
      const parts = tables.map((t, k) => embeddingLookup(ctx.table(t.name), batch.inputs[k]));
      const out = linear(concatLast(parts), ctx.param('fc.weight'), ctx.param('fc.bias'));
      return reshape(out, [out.shape[0]]);
    },
    loss: (output: Tensor, batch: Batch) => mseLoss(output, batch.target),
  };
}
