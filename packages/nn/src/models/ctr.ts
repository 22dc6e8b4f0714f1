import { ErrorCodes, RowshardError, tableSpec } from '@rowshard/core';
import { bceWithLogits } from '../losses.js';
import type { Batch, DenseParamSpec, Model, ModelContext } from '../model.js';
import { relu, reshape } from '../ops/elementwise.js';
import { embeddingLookup } from '../ops/embedding.js';
import { linear } from '../ops/linear.js';
import { concatLast } from '../ops/reduce.js';
import { inStepMemory } from '../step-scope.js';
import { Tensor } from '../tensor.js';

export interface CtrModelOptions {
  /** Float features per example (Criteo: 13). */
  numDense: number;
  /** Categorical features, one hashed table each, `cat_0` … (Criteo: 26). */
  numCategorical: number;
  embeddingDim: number;
  hiddenDim: number;
  /** Each table's capacity hint (a hashed table takes any 64-bit id; this sizes nothing up front). */
  tableSize: number;
}

/**
 * A DLRM-style click-through model: the dense features through a bottom Linear + ReLU, each
 * categorical feature's raw 64-bit id looked up in its own hashed table, everything
 * concatenated into a top MLP (Linear → ReLU → Linear) to one logit, BCEWithLogitsLoss.
 * Inputs: `inputs[f]` feature f's ids [B] (a BigUint64Array), `values[0]` the dense features
 * [B, numDense]; target 0/1. (DLRM's pairwise dot interaction is left out: concatenation is
 * what its "cat" interaction does, and the PyTorch baseline of `bench:ctr` is the same.)
 */
export function ctrModel(options: CtrModelOptions): Model {
  const { numDense, numCategorical, embeddingDim: D, hiddenDim: H, tableSize } = options;
  const tables = Array.from({ length: numCategorical }, (_, f) =>
    tableSpec({ name: `cat_${f}`, kind: 'hashed', numEmbeddings: tableSize, embeddingDim: D }),
  );
  const bottom = numDense > 0 ? H : 0;
  const topIn = bottom + numCategorical * D;
  const dense: DenseParamSpec[] = [];
  const layer = (name: string, out: number, inp: number) => {
    dense.push({ name: `${name}.weight`, shape: [out, inp], init: { kind: 'linear', fanIn: inp }, group: 'dense' });
    dense.push({ name: `${name}.bias`, shape: [out], init: { kind: 'linear', fanIn: inp }, group: 'dense' });
  };
  if (numDense > 0) layer('bottom', H, numDense);
  layer('top1', H, topIn);
  layer('top2', 1, H);
  const checkBatch = (batch: Batch) => {
    if (batch.inputs.length !== numCategorical || (numDense > 0 && batch.values?.[0]?.shape[1] !== numDense)) {
      throw new RowshardError(
        ErrorCodes.BAD_SHAPE,
        `ctr model: a batch needs ${numCategorical} categorical inputs and dense values [B, ${numDense}], got ${batch.inputs.length} inputs and values [${batch.values?.[0]?.shape.join(', ') ?? ''}]`,
      );
    }
  };
  return {
    name: 'ctr',
    task: 'binary',
    tables,
    dense,
    rowsNeeded(batch: Batch) {
      checkBatch(batch);
      return Object.fromEntries(tables.map((t, f) => [t.name, [batch.inputs[f].data]]));
    },
    forward(ctx: ModelContext, batch: Batch): Tensor {
      checkBatch(batch);
      const parts: Tensor[] = [];
      if (numDense > 0) {
        const values = batch.values?.[0] as NonNullable<Batch['values']>[number];
        const x = new Tensor(values.shape, inStepMemory(values.data));
        parts.push(relu(linear(x, ctx.param('bottom.weight'), ctx.param('bottom.bias'))));
      }
      tables.forEach((t, f) => {
        parts.push(embeddingLookup(ctx.table(t.name), batch.inputs[f]));
      });
      const h = relu(linear(concatLast(parts), ctx.param('top1.weight'), ctx.param('top1.bias')));
      const out = linear(h, ctx.param('top2.weight'), ctx.param('top2.bias'));
      return reshape(out, [out.shape[0]]);
    },
    loss: (output: Tensor, batch: Batch) => bceWithLogits(output, batch.target),
  };
}
