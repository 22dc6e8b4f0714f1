import { ErrorCodes, RowshardError } from '@rowshard/core';

/** Where a record (or a line of a vocabulary file) came from, for error messages. */
export interface SourceLocation {
  readonly file: string;
  /** 1-based; for a CSV record spanning lines, the line it starts on. */
  readonly line: number;
}

/**
 * The one shape of a bad-input error in this module: `train.txt:17: label field 'category' is
 * missing`. People fix data files in an editor, so the message leads with file:line; tools get
 * the same facts in `details`. `field` is undefined when the whole line is at fault (bad JSON).
 */
export function dataError(
  at: SourceLocation,
  field: string | undefined,
  message: string,
  column?: string | number,
): RowshardError {
  return new RowshardError(ErrorCodes.BAD_DATA, `${at.file}:${at.line}: ${message}`, {
    file: at.file,
    line: at.line,
    field,
    column,
  });
}
