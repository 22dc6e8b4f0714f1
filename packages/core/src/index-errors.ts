import { ErrorCodes, RowshardError } from './errors.js';

/**
 * The errors for a bad row index, shared by single-process lookups and parameter servers so
 * a user sees the same words either way: PyTorch's "index out of range in self", but naming
 * the table, the position in the request, the value and the valid range.
 */
export function indexOutOfRange(table: string, position: number, index: number | bigint, numEmbeddings: number): RowshardError {
  return new RowshardError(
    ErrorCodes.INDEX_OUT_OF_RANGE,
    `table '${table}': index ${index} at position ${position} is out of range [0, ${numEmbeddings})`,
    { table, position, index: typeof index === 'bigint' ? index.toString() : index, numEmbeddings },
  );
}

export function indexNotInteger(table: string, position: number, index: number): RowshardError {
  return new RowshardError(
    ErrorCodes.INDEX_NOT_INTEGER,
    `table '${table}': index ${index} at position ${position} is not an integer`,
    {
      table,
      position,
      index: String(index),
    },
  );
}

/**
 * Checks every id of a dense table's lookup: a whole number in [0, numEmbeddings), or the
 * error above naming the first that is not. Integer arrays (every data reader's) skip the
 * whole-number test.
 */
export function checkDenseIndices(table: string, ids: ArrayLike<number>, numEmbeddings: number): void {
  const integral = ids instanceof Int32Array || ids instanceof Uint32Array;
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p];
    if (!integral && !Number.isInteger(id)) throw indexNotInteger(table, p, id);
    if (id < 0 || id >= numEmbeddings) throw indexOutOfRange(table, p, id, numEmbeddings);
  }
}

export function unknownTable(table: string, known: readonly string[]): RowshardError {
  return new RowshardError(
    ErrorCodes.UNKNOWN_TABLE,
    `unknown table '${table}' (this server holds: ${known.length ? known.join(', ') : 'no tables'})`,
    { table },
  );
}
