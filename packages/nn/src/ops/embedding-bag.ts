import { ErrorCodes, type RowIds, RowshardError } from '@rowshard/core';
import type { BagMode } from '@rowshard/kernels';
import type { PooledLookup, RowSource } from '../row-source.js';
import { allocF32, allocI32, kernels } from '../step-scope.js';
import { type IndexTensor, Tensor } from '../tensor.js';
import { addRowGradients } from './embedding.js';
import { idTreeBagForward, idTreeLeavesOf, inIdTreeOrder } from './id-tree-bag.js';

export type { BagMode } from '@rowshard/kernels';

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
export function bagBounds(input: IndexTensor, options: EmbeddingBagOptions, table: string): Int32Array {
  const n = input.data.length;
  if (input.shape.length === 2) {
    if (options.offsets != null) {
      throw new RowshardError(ErrorCodes.BAD_SHAPE, `embedding_bag '${table}': offsets must be absent for a 2-D input`);
    }
    const [bags, len] = input.shape;
    const bounds = allocI32(bags + 1);
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
  const bounds = allocI32(bags + 1);
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
  const bounds = bagBounds(input, options, spec.name);
  const bags = bounds.length - 1;
  // Reduced on the shards where the step pooled it: every position counts, so not with padding.
  if (!psw && mode !== 'max' && spec.paddingIdx === null) {
    const pooled = source.pooled?.(input.data, bounds, mode);
    if (pooled) return pooledTensor(pooled, bags, dim);
  }
  const lookup = source.lookup(input.data);
  const { offsets, positions } = withoutPadding(input.data, bounds, spec.paddingIdx);
  // The kernels walk positions offsets[b] .. offsets[b+1]; with padding left out they are a
  // subset of the input's, `positions` mapping each back.
  const rowOf = positions ? pick(lookup.rowOf, positions) : lookup.rowOf;
  const weights = psw ? (positions ? pickF32(psw.data, positions) : psw.data) : null;
  const out = allocF32(bags * dim);
  const argmax = mode === 'max' ? allocI32(bags * dim) : null;
  if (mode !== 'max' && !weights && inIdTreeOrder(source, input.data)) {
    const leaves = idTreeLeavesOf(input.data);
    idTreeBagForward(mode, positions ? pick(leaves, positions) : leaves, offsets, rowOf, lookup.rows, out, dim);
  } else kernels().bagForward(mode, offsets, rowOf, weights, lookup.rows, out, argmax, dim);
  const parents = psw ? [psw] : [];
  const result: Tensor = new Tensor([bags, dim], out, {
    parents,
    requiresGrad: lookup.grad !== null || (psw?.requiresGrad ?? false),
    backward: () => {
      const G = result.grad as Float32Array;
      if (psw?.requiresGrad) {
        const gw = psw.gradBuffer();
        const rows = lookup.rows;
        for (let b = 0; b < bags; b++) {
          for (let k = offsets[b]; k < offsets[b + 1]; k++) {
            const r = rowOf[k] * dim;
            let acc = 0;
            for (let d = 0; d < dim; d++) acc += G[b * dim + d] * rows[r + d];
            gw[positions ? positions[k] : k] += acc;
          }
        }
      }
      addRowGradients(lookup, dim, spec.scaleGradByFreq, (into) =>
        kernels().bagBackward(mode, offsets, rowOf, weights, G, into, argmax, dim),
      );
    },
  });
  return result;
}

/** A bag op's output where the shards reduced the bags: the gradient goes back to them. */
export function pooledTensor(pooled: PooledLookup, bags: number, dim: number): Tensor {
  const backward = pooled.backward;
  const result: Tensor = new Tensor([bags, dim], pooled.out, {
    requiresGrad: backward !== null,
    backward: () => backward?.(result.grad as Float32Array),
  });
  return result;
}

/** Bag bounds over the non-padding positions, and those positions (null when none is padding). */
function withoutPadding(
  data: RowIds,
  bounds: Int32Array,
  pad: number | null,
): { offsets: Int32Array; positions: Int32Array | null } {
  let padded = 0;
  // A hashed table's 64-bit ids (bigints) never equal a padding number: it has no padding row.
  if (pad !== null) for (let i = 0; i < data.length; i++) if (data[i] === pad) padded++;
  if (padded === 0) return { offsets: bounds, positions: null };
  const positions = allocI32(data.length - padded);
  const offsets = allocI32(bounds.length);
  let k = 0;
  for (let b = 0; b + 1 < bounds.length; b++) {
    offsets[b] = k;
    for (let e = bounds[b]; e < bounds[b + 1]; e++) if (data[e] !== pad) positions[k++] = e;
  }
  offsets[bounds.length - 1] = k;
  return { offsets, positions };
}

function pick(values: Int32Array, positions: Int32Array): Int32Array {
  const out = allocI32(positions.length);
  for (let k = 0; k < positions.length; k++) out[k] = values[positions[k]];
  return out;
}

function pickF32(values: Float32Array, positions: Int32Array): Float32Array {
  const out = allocF32(positions.length);
  for (let k = 0; k < positions.length; k++) out[k] = values[positions[k]];
  return out;
}
