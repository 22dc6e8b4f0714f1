import { dedupeIds, ErrorCodes, RowshardError } from '@rowshard/core';
import type { RowSource } from '../row-source.js';
import { validateIndices } from '../row-source.js';
import { type IndexTensor, Tensor } from '../tensor.js';
import { emitWithoutPadding } from './embedding.js';

export type BagMode = 'sum' | 'mean' | 'max';

export interface EmbeddingBagOptions {
  readonly mode?: BagMode;
  /** Start of each bag in a 1-D input; must be absent for a 2-D input (one bag per row). */
  readonly offsets?: ArrayLike<number> | null;
  /** One weight per input element; mode 'sum' only, as in PyTorch. */
  readonly perSampleWeights?: Tensor | null;
  /** offsets has one more entry than there are bags, the last being input.length. */
  readonly includeLastOffset?: boolean;
}

/** Resolves bag boundaries from either form of input, with PyTorch's rules as checks. */
function bagBounds(input: IndexTensor, options: EmbeddingBagOptions, table: string): Int32Array {
  const n = input.data.length;
  if (input.shape.length === 2) {
    if (options.offsets != null) {
      throw new RowshardError(ErrorCodes.BAD_SHAPE, `embedding_bag '${table}': offsets must be absent for a 2-D input`);
    }
    const [bags, len] = input.shape;
    const bounds = new Int32Array(bags + 1);
    for (let b = 0; b <= bags; b++) bounds[b] = b * len;
    return bounds;
  }
  if (input.shape.length !== 1) {
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `embedding_bag '${table}': input must be 1-D or 2-D, got [${input.shape.join(', ')}]`,
    );
  }
  const offsets = options.offsets;
  if (offsets == null) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `embedding_bag '${table}': a 1-D input needs offsets`);
  }
  const bags = options.includeLastOffset ? offsets.length - 1 : offsets.length;
  if (bags < 0 || (offsets.length > 0 && offsets[0] !== 0)) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `embedding_bag '${table}': offsets must start at 0`);
  }
  const bounds = new Int32Array(bags + 1);
  for (let b = 0; b < bags; b++) {
    const o = offsets[b];
    const next = b + 1 < offsets.length ? offsets[b + 1] : n;
    if (!Number.isInteger(o) || o < 0 || o > n || next < o) {
      throw new RowshardError(
        ErrorCodes.BAD_SHAPE,
        `embedding_bag '${table}': offsets[${b}] = ${o} must be a non-decreasing integer in [0, ${n}]`,
      );
    }
    bounds[b] = o;
  }
  bounds[bags] = options.includeLastOffset ? offsets[bags] : n;
  if (bounds[bags] !== n && options.includeLastOffset) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `embedding_bag '${table}': last offset must equal input length ${n}`);
  }
  return bounds;
}

/**
 * nn.EmbeddingBag's forward: one reduced row per bag, output [bags, dim]. Entries equal to
 * the padding index are left out of the bag (not summed, not counted by mean); an empty bag
 * gives zeros. Gradients flow to the table rows and to per_sample_weights.
 */
export function embeddingBag(source: RowSource, input: IndexTensor, options: EmbeddingBagOptions = {}): Tensor {
  const spec = source.spec;
  const dim = spec.embeddingDim;
  const mode = options.mode ?? 'mean';
  const psw = options.perSampleWeights ?? null;
  if (psw && mode !== 'sum') {
    throw new RowshardError(
      ErrorCodes.UNSUPPORTED,
      `embedding_bag '${spec.name}': per_sample_weights is only supported for mode 'sum'`,
    );
  }
  if (psw && psw.size !== input.data.length) {
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `embedding_bag '${spec.name}': ${input.data.length} inputs but ${psw.size} per_sample_weights`,
    );
  }
  validateIndices(spec, input.data);
  const bounds = bagBounds(input, options, spec.name);
  const bags = bounds.length - 1;
  const { unique, inverse, counts } = dedupeIds(input.data);
  const rows = source.fetchRows(unique);
  const pad = spec.paddingIdx;
  const out = new Float32Array(bags * dim);
  const bagCount = new Int32Array(bags);
  // For max mode: which input position won each (bag, dim), -1 when the bag is empty.
  const argmax = mode === 'max' ? new Int32Array(bags * dim).fill(-1) : null;
  for (let b = 0; b < bags; b++) {
    const o = b * dim;
    for (let e = bounds[b]; e < bounds[b + 1]; e++) {
      if (input.data[e] === pad) continue;
      const r = inverse[e] * dim;
      bagCount[b]++;
      if (argmax) {
        for (let d = 0; d < dim; d++) {
          if (argmax[o + d] < 0 || rows[r + d] > out[o + d]) {
            out[o + d] = rows[r + d];
            argmax[o + d] = e;
          }
        }
      } else {
        const w = psw ? psw.data[e] : 1;
        for (let d = 0; d < dim; d++) out[o + d] += w * rows[r + d];
      }
    }
    if (mode === 'mean' && bagCount[b] > 0) for (let d = 0; d < dim; d++) out[o + d] /= bagCount[b];
  }
  const parents = psw ? [psw] : [];
  const result: Tensor = new Tensor([bags, dim], out, {
    parents,
    requiresGrad: source.trainable || (psw?.requiresGrad ?? false),
    backward: () => {
      const G = result.grad as Float32Array;
      if (psw?.requiresGrad) {
        const gw = psw.gradBuffer();
        for (let b = 0; b < bags; b++) {
          for (let e = bounds[b]; e < bounds[b + 1]; e++) {
            if (input.data[e] === pad) continue;
            const r = inverse[e] * dim;
            let acc = 0;
            for (let d = 0; d < dim; d++) acc += G[b * dim + d] * rows[r + d];
            gw[e] += acc;
          }
        }
      }
      if (!source.trainable) return;
      const sums = new Float32Array(unique.length * dim);
      for (let b = 0; b < bags; b++) {
        const o = b * dim;
        if (argmax) {
          for (let d = 0; d < dim; d++) {
            const e = argmax[o + d];
            if (e >= 0) sums[inverse[e] * dim + d] += G[o + d];
          }
          continue;
        }
        const scale = mode === 'mean' ? 1 / bagCount[b] : 1;
        for (let e = bounds[b]; e < bounds[b + 1]; e++) {
          if (input.data[e] === pad) continue;
          const w = (psw ? psw.data[e] : 1) * scale;
          const dst = inverse[e] * dim;
          for (let d = 0; d < dim; d++) sums[dst + d] += w * G[o + d];
        }
      }
      if (spec.scaleGradByFreq) {
        for (let u = 0; u < unique.length; u++) for (let d = 0; d < dim; d++) sums[u * dim + d] /= counts[u];
      }
      emitWithoutPadding(source, unique, sums, dim);
    },
  });
  return result;
}
