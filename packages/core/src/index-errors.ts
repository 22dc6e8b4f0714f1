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

export function unknownTable(table: string, known: readonly string[]): RowshardError {
  return new RowshardError(
    ErrorCodes.UNKNOWN_TABLE,
    `unknown table '${table}' (this server holds: ${known.length ? known.join(', ') : 'no tables'})`,
    { table },
  );
}
