import { ErrorCodes, RowshardError } from '../errors.js';

/** One supervised example as the dictionary gives it: input rows, labels, and its line in the file. */
export interface TokenizedExample {
  readonly ids: readonly number[];
  readonly labels: readonly number[];
  readonly line: number;
}

/**
 * The most input rows a file's examples are kept in memory with (a worker) or written
 * tokenised (the dictionary pass): 16M, about 128 MB of JS arrays per worker. A larger file
 * is tokenised on every pass, as fastText does.
 */
export const KEPT_EXAMPLE_ROWS = 16 * 1024 * 1024;

/** "rsex" little-endian: what opens an examples file. */
const MAGIC = 0x78657372;
const VERSION = 1;

/**
 * A file's supervised examples, tokenised once by the dictionary pass so that worker threads
 * read them instead of tokenising the text again (each worker reads every example: the
 * shuffling buffer orders the whole file). int32 little-endian: magic, version, example
 * count, then each example as [ids, labels, line, ...ids, ...labels].
 */
export function encodeExamples(examples: readonly TokenizedExample[]): Uint8Array {
  let ints = 3;
  for (const e of examples) ints += 3 + e.ids.length + e.labels.length;
  const out = new Int32Array(ints);
  out[0] = MAGIC;
  out[1] = VERSION;
  out[2] = examples.length;
  let at = 3;
  for (const e of examples) {
    out[at++] = e.ids.length;
    out[at++] = e.labels.length;
    out[at++] = e.line;
    for (const id of e.ids) out[at++] = id;
    for (const label of e.labels) out[at++] = label;
  }
  return new Uint8Array(out.buffer);
}

/**
 * Reads encodeExamples' bytes, checked: the layout, the count (`examples`, from the job), and
 * every id below `rows` and label below `labels`; an error names the file and what is wrong.
 */
export function decodeExamples(
  bytes: Uint8Array,
  file: string,
  expect: { examples: number; rows: number; labels: number },
): TokenizedExample[] {
  const fail = (what: string): never => {
    throw new RowshardError(ErrorCodes.BAD_DATA, `${file}: not an examples file of this job: ${what}`, { file });
  };
  if (bytes.byteLength % 4 !== 0 || bytes.byteLength < 12) fail(`${bytes.byteLength} bytes`);
  const ints = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (ints[0] !== MAGIC || ints[1] !== VERSION) fail('bad magic or version');
  if (ints[2] !== expect.examples) fail(`${ints[2]} examples, the job counted ${expect.examples}`);
  const examples: TokenizedExample[] = [];
  let at = 3;
  for (let k = 0; k < expect.examples; k++) {
    if (at + 3 > ints.length) fail(`truncated at example ${k}`);
    const nIds = ints[at];
    const nLabels = ints[at + 1];
    const line = ints[at + 2];
    at += 3;
    if (nIds < 1 || nLabels < 1 || line < 1 || at + nIds + nLabels > ints.length) fail(`example ${k} is malformed`);
    // Copied and checked in one loop each (Array.from of a subarray and a `some` per example
    // took 60 ms of a worker's start on a 3.5 MB file, before its first step).
    const ids = copyBelow(ints, at, nIds, expect.rows);
    if (ids === null) fail(`example ${k} has a row outside 0 .. ${expect.rows - 1}`);
    const labels = copyBelow(ints, at + nIds, nLabels, expect.labels);
    if (labels === null) fail(`example ${k} has a label outside 0 .. ${expect.labels - 1}`);
    at += nIds + nLabels;
    examples.push({ ids: ids as number[], labels: labels as number[], line });
  }
  if (at !== ints.length) fail(`${ints.length - at} ints after the last example`);
  return examples;
}

/** ints[at .. at + n) as an array, or null if one is outside 0 .. below − 1. */
function copyBelow(ints: Int32Array, at: number, n: number, below: number): number[] | null {
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = ints[at + i];
    if (v < 0 || v >= below) return null;
    out[i] = v;
  }
  return out;
}
