import { ErrorCodes, indexNotInteger, indexOutOfRange, type RowIds, RowshardError, type TableSpec } from '@rowshard/core';

/**
 * What one lookup of a table reads and where its gradient goes: a matrix of rows, the row of
 * it that each position reads, and a gradient matrix in the same layout (or null when the
 * lookup records none). The op indexes rows through `rowOf` and adds each position's
 * gradient into `grad` at the same row; it never dedupes or copies rows itself.
 */
export interface RowLookup {
  /** Rows, row-major [*, dim], max_norm already applied (PyTorch renormalises the looked-up rows in place). */
  readonly rows: Float32Array;
  /** For each position of the lookup's indices, its row in `rows`. */
  readonly rowOf: Int32Array;
  /** Where the backward adds gradient rows, same layout as `rows`; null for a table that takes none. */
  readonly grad: Float32Array | null;
  /**
   * Called by the op's backward once it has added into `grad`: only rows of lookups whose
   * gradient flowed count as part of the step's sparse gradient (as PyTorch's sparse grad
   * holds exactly the indices backward went through; a zero row still moves Adam's moments).
   */
  gradientFlowed(): void;
}

/** A bag reduced on the parameter servers (Model.pooledBags): its output, and where its gradient goes. */
export interface PooledLookup {
  /** [bags, dim]: each bag's sum, or mean, of its rows. */
  readonly out: Float32Array;
  /** Takes the output's gradient [bags, dim]; null for a table that takes none. */
  readonly backward: ((gradOut: Float32Array) => void) | null;
}

/**
 * The order in which a bag's rows are added: each bag's positions in order, or the id tree's
 * (kernels' id-tree.ts), BSP's, whose bits do not depend on the shard count.
 */
export type BagOrder = 'positions' | 'idTree';

/**
 * Where an embedding lookup gets its rows and sends its gradient. In single-process mode
 * that is a whole table in memory (LocalTable); on a trainer it is the rows pulled from the
 * parameter servers for this batch (RemoteRows). The lookup ops do not know the difference.
 * A source validates the indices (or knows them valid) and dedupes them.
 */
export interface RowSource {
  readonly spec: TableSpec;
  /** False for frozen tables: lookups then record no gradient. */
  readonly trainable: boolean;
  /**
   * Optional (position order where absent): 'idTree' where a bag's sum or mean (without per-sample weights) of a dense
   * table adds its rows in the id tree's order (kernels' id-tree.ts): BSP on a trainer, so
   * that a bag summed here has the bits of one the shards summed. Position order otherwise.
   */
  readonly bagOrder?: BagOrder;
  /** Numbers, or a BigUint64Array of 64-bit ids for a hashed table. */
  lookup(indices: RowIds): RowLookup;
  /**
   * Optional: the bag of `indices` (bag b: positions bounds[b] .. bounds[b+1], each counted)
   * reduced already, where this step pooled it on the shards; null where it did not. A bag op
   * asks this first, and looks the rows up otherwise.
   */
  pooled?(indices: RowIds, bounds: Int32Array, mode: 'sum' | 'mean'): PooledLookup | null;
}

/** The same rows, read-only: lookups through it record no gradient (evaluation). */
export function withoutGrad(source: RowSource): RowSource {
  const pooled = source.pooled?.bind(source);
  return {
    spec: source.spec,
    trainable: false,
    bagOrder: source.bagOrder,
    lookup(indices) {
      const { rows, rowOf } = source.lookup(indices);
      return { rows, rowOf, grad: null, gradientFlowed() {} };
    },
    ...(pooled
      ? {
          pooled(indices, bounds, mode) {
            const bag = pooled(indices, bounds, mode);
            return bag && { out: bag.out, backward: null };
          },
        }
      : {}),
  };
}

/**
 * Checks that every index is an integer in [0, numEmbeddings): PyTorch's "index out of range
 * in self", but naming the table, the position, the value and the valid range. A hashed
 * table takes any unsigned 64-bit id: as a BigUint64Array, or as numbers below 2^53.
 */
export function validateIndices(spec: TableSpec, data: RowIds): void {
  if (data instanceof BigUint64Array) {
    if (spec.kind === 'hashed') return;
    throw new RowshardError(
      ErrorCodes.BAD_REQUEST,
      `table '${spec.name}' is dense: its indices are numbers in [0, ${spec.numEmbeddings}), not 64-bit ids (a BigUint64Array is for kind: 'hashed' tables)`,
      { table: spec.name },
    );
  }
  const limit = spec.kind === 'dense' ? spec.numEmbeddings : Number.MAX_SAFE_INTEGER + 1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v)) throw indexNotInteger(spec.name, i, v);
    if (v < 0 || v >= limit) throw indexOutOfRange(spec.name, i, v, spec.numEmbeddings);
  }
}
