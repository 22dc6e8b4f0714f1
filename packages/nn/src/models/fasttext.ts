import { buildHuffmanTree, huffmanPath, numericIds, type RowIds, tableSpec } from '@rowshard/core';
import { binaryLogisticTerms, crossEntropy } from '../losses.js';
import type { Batch, Model, ModelContext } from '../model.js';
import { embeddingLookup } from '../ops/embedding.js';
import { bagBounds, embeddingBag } from '../ops/embedding-bag.js';
import { linear } from '../ops/linear.js';
import { indexTensor, type Tensor } from '../tensor.js';

export type FastTextLossName = 'softmax' | 'ns' | 'hs' | 'ova';

export interface FastTextOptions {
  /** Words in the vocabulary: rows [0, numWords) of the input table. */
  numWords: number;
  /** Hashed n-gram buckets: rows [numWords, numWords + buckets). fastText's default is 2,000,000. */
  buckets: number;
  embeddingDim: number;
  numClasses: number;
  /** fastText's -loss (default softmax). */
  loss?: FastTextLossName;
  /** ns: negatives per example (fastText's -neg, default 5). */
  neg?: number;
  /** ns and hs: each class's count in the training data, in class order (the Huffman tree and the negatives' distribution). */
  labelCounts?: readonly number[];
  /**
   * Where the output matrix [C, D] lives: `dense` (default), a dense parameter (`fc.weight`)
   * sent whole each step; `table`, a table (`output`) on the parameter servers, every row
   * pulled each step and updated by the sparse optimizer. `pnpm bench:fasttext --only
   * placement` measures the two; the numbers are in the README.
   */
  outputMatrix?: 'dense' | 'table';
}

/** A counter-based draw in [0, 1): the same negatives for the same batch, whatever the worker or run. */
function uniform(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(c + 0x27d4eb2f, 0x165667b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * The terms of fastText's binary losses for a batch (see binaryLogisticTerms): ova, every
 * class with the target positive; ns, the target and `neg` negatives drawn ∝ count^0.5 (the
 * target redrawn, as fastText skips it); hs, the inner nodes on the target's Huffman path,
 * positive where the code bit is 1 (inner node i is row i − C of the output, as fastText's).
 */
function lossTerms(options: FastTextOptions, batch: Batch) {
  const C = options.numClasses;
  const loss = options.loss ?? 'softmax';
  const rows: number[] = [];
  const cols: number[] = [];
  const positive: number[] = [];
  const n = batch.target.length;
  if (loss === 'ova') {
    for (let r = 0; r < n; r++)
      for (let c = 0; c < C; c++) {
        rows.push(r);
        cols.push(c);
        positive.push(c === batch.target[r] ? 1 : 0);
      }
  } else if (loss === 'ns') {
    const counts = options.labelCounts ?? Array.from({ length: C }, () => 1);
    const cumulative = new Float64Array(C);
    let z = 0;
    for (let c = 0; c < C; c++) cumulative[c] = z += Math.sqrt(counts[c]);
    const ids = numericIds(batch.inputs[0].data, 'fasttext inputs[0]');
    const offsets = batch.offsets?.[0];
    for (let r = 0; r < n; r++) {
      const t = batch.target[r];
      rows.push(r);
      cols.push(t);
      positive.push(1);
      if (C < 2) continue;
      // Keyed by the example's first input row and its place, so a batch draws the same negatives on any worker.
      const first = offsets && offsets[r] < ids.length ? ids[offsets[r]] : 0;
      for (let k = 0, draw = 0; k < (options.neg ?? 5); draw++) {
        const u = uniform(first, r * 131 + t, draw) * z;
        let lo = 0;
        let hi = C - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cumulative[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        if (lo === t) continue;
        rows.push(r);
        cols.push(lo);
        positive.push(0);
        k++;
      }
    }
  } else {
    const tree = buildHuffmanTree(options.labelCounts ?? Array.from({ length: C }, () => 1));
    for (let r = 0; r < n; r++) {
      const path = huffmanPath(tree, batch.target[r]);
      for (let i = 0; i < path.rows.length; i++) {
        rows.push(r);
        cols.push(path.rows[i]);
        positive.push(path.bits[i]);
      }
    }
  }
  return { rows, cols, positive };
}

/**
 * A fastText-style supervised classifier (Joulin et al., 2016): the mean of the input rows of
 * a text's words and of its hashed n-gram buckets (one EmbeddingBag), then a Linear layer
 * without bias, and fastText's loss: softmax (cross-entropy), or one of its binary losses
 * (ns, hs, ova). Inits follow fastText: input rows U(-1/dim, 1/dim), output matrix zeros.
 * Input: ids flat [N] with bag offsets [B]. The output is the logits of every class (hs: of
 * every inner node of the Huffman tree, in rows 0..C−2): hs saves fastText's O(log C) work
 * only in what it updates, not in what it computes.
 */
export function fastTextClassifier(options: FastTextOptions): Model {
  const { numWords, buckets, embeddingDim: D, numClasses: C } = options;
  const table = tableSpec({
    name: 'embedding',
    numEmbeddings: numWords + buckets,
    embeddingDim: D,
    init: { kind: 'uniform', a: -1 / D, b: 1 / D },
  });
  const loss = options.loss ?? 'softmax';
  const outputTable = options.outputMatrix === 'table';
  // The output table's rows, all of them every step: every logit is computed (see above).
  const allClasses = indexTensor(
    [C],
    Int32Array.from({ length: C }, (_, c) => c),
  );
  return {
    name: 'fasttext',
    task: 'classification',
    tables: outputTable
      ? [table, tableSpec({ name: 'output', numEmbeddings: C, embeddingDim: D, init: { kind: 'zeros' } })]
      : [table],
    dense: outputTable ? [] : [{ name: 'fc.weight', shape: [C, D], init: { kind: 'zeros' }, group: 'dense' }],
    rowsNeeded: (batch: Batch): Record<string, readonly RowIds[]> =>
      outputTable ? { embedding: [batch.inputs[0].data], output: [allClasses.data] } : { embedding: [batch.inputs[0].data] },
    // A text's mean on the shards (sync.poolBags): one row per text on the wire, not its words'.
    pooledBags: (batch: Batch) => ({
      embedding: {
        ids: batch.inputs[0].data,
        bounds: bagBounds(batch.inputs[0], { offsets: batch.offsets?.[0] ?? null }, 'embedding'),
        mode: 'mean',
      },
    }),
    forward(ctx: ModelContext, batch: Batch): Tensor {
      const h = embeddingBag(ctx.table('embedding'), batch.inputs[0], {
        mode: 'mean',
        offsets: batch.offsets?.[0] ?? null,
      });
      const weight = outputTable ? embeddingLookup(ctx.table('output'), allClasses) : ctx.param('fc.weight');
      return linear(h, weight, null);
    },
    loss: (output: Tensor, batch: Batch) => {
      if (loss === 'softmax') return crossEntropy(output, batch.target);
      const { rows, cols, positive } = lossTerms(options, batch);
      return binaryLogisticTerms(output, rows, cols, positive);
    },
  };
}
