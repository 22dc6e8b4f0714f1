import { ErrorCodes, RowshardError } from '../errors.js';
import { decodeUtf8 } from '../utf8.js';

/**
 * Word vectors, as word2vec and GloVe write them. word2vec text: a first line
 * "<count> <dim>", then "word v1 v2 ... vdim" per line. word2vec binary (`-binary 1`,
 * gensim's `binary=True`): the same first line, then per vector the word, a space and dim
 * little-endian float32s (word2vec's C tool adds a newline after each, gensim does not).
 * GloVe: "word v1 ... vdim" lines with no count line; a few of Common Crawl's words hold
 * spaces, so a line's last dim fields are the numbers and the rest is the word. Files are
 * read from bytes and decoded a line at a time (a file bigger than the largest string
 * reads), and every bad line or vector is reported with the file and its line or number.
 */
export type WordVectorsFormat = 'word2vec' | 'glove';

export interface WordVectorsSummary {
  readonly format: WordVectorsFormat;
  /** word2vec's binary layout (detected from the bytes after the count line). */
  readonly binary: boolean;
  readonly vectors: number;
  readonly dim: number;
}

export interface TextVectorsHeader {
  readonly count: number;
  readonly dim: number;
}

/** The word2vec count line, or null if the first line is already a vector (GloVe). */
export function parseWord2vecHeader(line: string): TextVectorsHeader | null {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
  return m ? { count: Number(m[1]), dim: Number(m[2]) } : null;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;

/**
 * Calls `visit(word, vector, at)` for every vector of the file, in file order; `vector` is
 * reused between calls. `dim` is what the caller needs: a file of another width is refused
 * at its first line. `at` is "line N" (text) or "vector N" (binary), for messages.
 */
export function forEachWordVector(
  bytes: Uint8Array,
  format: WordVectorsFormat,
  dim: number,
  file: string,
  visit: (word: string, vector: Float32Array, at: string) => void,
): WordVectorsSummary {
  const bad = (at: string, why: string) =>
    new RowshardError(ErrorCodes.BAD_DATA, `${file}: ${at}: ${why}`, {
      file,
      ...(at.startsWith('line') ? { line: Number(at.slice(5)) } : {}),
    });
  const vector = new Float32Array(dim);
  let pos = 0;
  let lineNo = 0;
  const nextLine = (): string | null => {
    if (pos >= bytes.length) return null;
    let end = bytes.indexOf(NEWLINE, pos);
    if (end < 0) end = bytes.length;
    let stop = end;
    if (stop > pos && bytes[stop - 1] === 0x0d) stop--;
    const line = decodeUtf8(bytes.subarray(pos, stop));
    pos = end + 1;
    lineNo++;
    return line;
  };
  let header: TextVectorsHeader | null = null;
  if (format === 'word2vec') {
    const first = nextLine() ?? '';
    header = parseWord2vecHeader(first);
    if (!header) throw bad('line 1', 'expected "<count> <dim>" (word2vec); for a file without it use format glove');
    if (header.dim !== dim) throw bad('line 1', `vectors have dim ${header.dim}; the table has ${dim}`);
    if (looksBinary(bytes, pos, dim)) return readBinary(bytes, pos, header, vector, visit, bad);
  }
  let vectors = 0;
  for (let line = nextLine(); line !== null; line = nextLine()) {
    if (line.trim() === '') continue;
    const at = `line ${lineNo}`;
    const fields = line.trimEnd().split(' ');
    if (vectors === 0 && format === 'glove') {
      if (parseWord2vecHeader(line)) throw bad(at, 'looks like a word2vec count line; use format word2vec');
      if (fields.length - 1 !== dim) throw bad(at, `vectors have dim ${fields.length - 1}; the table has ${dim}`);
    }
    if (fields.length < dim + 1) throw bad(at, `expected a word and ${dim} numbers, found ${fields.length} fields`);
    if (fields.length > dim + 1 && format === 'word2vec')
      throw bad(at, `expected a word and ${dim} numbers, found ${fields.length - 1} numbers`);
    const wordFields = fields.length - dim;
    for (let d = 0; d < dim; d++) {
      const text = fields[wordFields + d];
      const v = Number(text);
      if (text === '' || !Number.isFinite(v)) throw bad(at, `value ${d + 1} (${JSON.stringify(text)}) is not a finite number`);
      vector[d] = v;
    }
    const word = wordFields === 1 ? fields[0] : fields.slice(0, wordFields).join(' ');
    if (word === '') throw bad(at, 'the word is empty');
    vectors++;
    visit(word, vector, at);
  }
  if (header && vectors !== header.count) throw bad('line 1', `announces ${header.count} vectors; the file holds ${vectors}`);
  return { format, binary: false, vectors, dim };
}

/**
 * Whether the bytes after the count line are word2vec's binary layout: after the first
 * word and its space, a text file has digits, signs, points, exponents and spaces up to the
 * line's end; dim raw float32s almost never look like that.
 */
function looksBinary(bytes: Uint8Array, from: number, dim: number): boolean {
  const space = bytes.indexOf(SPACE, from);
  if (space < 0) return false;
  const end = Math.min(bytes.length, space + 1 + dim * 4);
  for (let i = space + 1; i < end; i++) {
    const b = bytes[i];
    if (b === NEWLINE) return false;
    const text =
      (b >= 0x30 && b <= 0x39) || b === SPACE || b === 0x2d || b === 0x2b || b === 0x2e || b === 0x65 || b === 0x45 || b === 0x0d;
    if (!text) return true;
  }
  return false;
}

function readBinary(
  bytes: Uint8Array,
  start: number,
  header: TextVectorsHeader,
  vector: Float32Array,
  visit: (word: string, vector: Float32Array, at: string) => void,
  bad: (at: string, why: string) => RowshardError,
): WordVectorsSummary {
  const { count, dim } = header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  for (let k = 1; k <= count; k++) {
    const at = `vector ${k}`;
    while (pos < bytes.length && (bytes[pos] === NEWLINE || bytes[pos] === 0x0d)) pos++;
    const space = bytes.indexOf(SPACE, pos);
    if (pos >= bytes.length || space < 0)
      throw bad(at, `the file ends after ${k - 1} of the ${count} vectors line 1 announces (truncated?)`);
    const word = decodeUtf8(bytes.subarray(pos, space));
    if (word === '') throw bad(at, 'the word is empty');
    pos = space + 1;
    if (pos + dim * 4 > bytes.length) throw bad(at, `'${word}': the file ends inside its ${dim} float32 values (truncated?)`);
    for (let d = 0; d < dim; d++) {
      const v = view.getFloat32(pos + d * 4, true);
      if (!Number.isFinite(v)) throw bad(at, `'${word}': value ${d + 1} is ${v}`);
      vector[d] = v;
    }
    pos += dim * 4;
    visit(word, vector, at);
  }
  for (; pos < bytes.length; pos++) {
    const b = bytes[pos];
    if (b !== NEWLINE && b !== 0x0d && b !== SPACE)
      throw bad(`vector ${count + 1}`, `more data after the ${count} vectors line 1 announces`);
  }
  return { format: 'word2vec', binary: true, vectors: count, dim };
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
