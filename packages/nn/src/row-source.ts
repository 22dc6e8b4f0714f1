import { indexNotInteger, indexOutOfRange, type TableSpec } from '@rowshard/core';

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
  lookup(indices: ArrayLike<number>): RowLookup;
}

/** The same rows, read-only: lookups through it record no gradient (evaluation). */
export function withoutGrad(source: RowSource): RowSource {
  return {
    spec: source.spec,
    trainable: false,
    lookup(indices) {
      const { rows, rowOf } = source.lookup(indices);
      return { rows, rowOf, grad: null, gradientFlowed() {} };
    },
  };
}

/**
 * Checks that every index is an integer in [0, numEmbeddings): PyTorch's "index out of range
 * in self", but naming the table, the position, the value and the valid range.
 */
export function validateIndices(spec: TableSpec, data: ArrayLike<number>): void {
  const limit = spec.kind === 'dense' ? spec.numEmbeddings : Number.MAX_SAFE_INTEGER + 1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v)) throw indexNotInteger(spec.name, i, v);
    if (v < 0 || v >= limit) throw indexOutOfRange(spec.name, i, v, spec.numEmbeddings);
  }
}
