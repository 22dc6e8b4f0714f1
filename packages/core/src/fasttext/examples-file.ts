import { ErrorCodes, RowshardError } from '../errors.js';

/** One supervised example as the dictionary gives it: input rows, labels, and its line in the file. */
export interface TokenizedExample {
  /** An examples file's are views of the file's ints (decodeExamples); the dictionary's, arrays. */
  readonly ids: Int32Array | readonly number[];
  readonly labels: Int32Array | readonly number[];
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
    // Checked in place and kept as views of the file's ints: copying each example into arrays
    // (Array.from of a subarray, and a `some` per example) took 60 ms of a worker's start on
    // a 3.5 MB file, before its first step.
    if (!allBelow(ints, at, nIds, expect.rows)) fail(`example ${k} has a row outside 0 .. ${expect.rows - 1}`);
    if (!allBelow(ints, at + nIds, nLabels, expect.labels)) fail(`example ${k} has a label outside 0 .. ${expect.labels - 1}`);
    examples.push({ ids: ints.subarray(at, at + nIds), labels: ints.subarray(at + nIds, at + nIds + nLabels), line });
    at += nIds + nLabels;
  }
  if (at !== ints.length) fail(`${ints.length - at} ints after the last example`);
  return examples;
}

/** Whether ints[at .. at + n) all lie in 0 .. below − 1. */
function allBelow(ints: Int32Array, at: number, n: number, below: number): boolean {
  for (let i = at; i < at + n; i++) if (ints[i] < 0 || ints[i] >= below) return false;
  return true;
}
