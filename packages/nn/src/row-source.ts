import { indexNotInteger, indexOutOfRange, type TableSpec } from '@rowshard/core';

/**
 * Where an embedding lookup gets its rows and sends its gradient. In single-process mode
 * that is a whole table in memory (LocalTable); on a trainer it is the rows pulled from the
 * parameter servers for this batch. The lookup ops do not know the difference.
 */
export interface RowSource {
  readonly spec: TableSpec;
  /** False for frozen tables: lookups then record no gradient. */
  readonly trainable: boolean;
  /**
   * Rows of distinct ids, row-major [ids.length, dim], with max_norm already applied (PyTorch
   * renormalises the looked-up rows of the weight in place before reading them).
   */
  fetchRows(uniqueIds: Float64Array): Float32Array;
  /** Receives the summed gradient of distinct ids (padding row excluded). */
  addSparseGrad(ids: Float64Array, rows: Float32Array): void;
}

/** The same rows, read-only: lookups through it record no gradient (evaluation). */
export function withoutGrad(source: RowSource): RowSource {
  return {
    spec: source.spec,
    trainable: false,
    fetchRows: (ids) => source.fetchRows(ids),
    addSparseGrad: () => {},
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
