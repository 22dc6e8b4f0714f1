import { ErrorCodes, RowshardError } from '../errors.js';

/**
 * Word vectors as text: word2vec's format (a first line "<count> <dim>", then "word v1 v2 ...")
 * and GloVe's (no count line). Parsing is line by line so callers can stream big files;
 * every bad line is reported with the file and line number.
 */
export interface TextVectorsHeader {
  readonly count: number;
  readonly dim: number;
}

/** The word2vec count line, or null if the first line is already a vector (GloVe). */
export function parseWord2vecHeader(line: string): TextVectorsHeader | null {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
  return m ? { count: Number(m[1]), dim: Number(m[2]) } : null;
}

/** Parses "word v1 ... vdim" into out[offset..]; returns the word. */
export function parseVectorLine(
  line: string,
  dim: number,
  out: Float32Array,
  offset: number,
  file: string,
  lineNo: number,
): string {
  const parts = line.trimEnd().split(' ');
  if (parts.length !== dim + 1) {
    throw new RowshardError(
      ErrorCodes.BAD_DATA,
      `${file}:${lineNo}: expected a word and ${dim} numbers, found ${parts.length - 1} numbers`,
      {
        file,
        line: lineNo,
      },
    );
  }
  for (let d = 0; d < dim; d++) {
    const v = Number(parts[d + 1]);
    if (!Number.isFinite(v)) {
      throw new RowshardError(
        ErrorCodes.BAD_DATA,
        `${file}:${lineNo}: value ${d + 1} (${JSON.stringify(parts[d + 1])}) is not a number`,
        {
          file,
          line: lineNo,
        },
      );
    }
    out[offset + d] = v;
  }
  return parts[0];
}

/** One "word v1 ... vdim" line, numbers in the shortest form that reads back as the same float32. */
export function formatVectorLine(word: string, row: Float32Array, offset: number, dim: number): string {
  let s = word;
  for (let d = 0; d < dim; d++) s += ` ${shortestFloat32(row[offset + d])}`;
  return s;
}

/**
 * A short decimal that reads back as exactly this float32: the first of 6, 7, 8, 9 significant
 * digits that round-trips (9 always does), trailing zeros dropped. Not always the very
 * shortest (a value that needs 5 digits is written with up to 6), but four tries at most
 * instead of nine: writing a table of millions of values is dominated by this.
 */
function shortestFloat32(v: number): string {
  for (let p = 6; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(v);
}
