// The file module alone: the thread that writes a .vec loads this module, not the coordinator's.
import { writeFileWhole } from '@rowshard/coordinator/durable-file';
import { type DenseMatrix, type FastTextInference, writeByteString, writeG } from '@rowshard/core';
import { bundleEntry } from '@rowshard/transport/bundle-entry';
import { runFileThread } from './file-thread.js';
import { SavedRowsMatrix } from './saved-matrix.js';

/** Named rows as a fastText text file of vectors: `<count> <dim>`, then `<name> <v0> <v1> ... ` per row. */
export interface NamedRows {
  readonly names: readonly string[];
  /** names.length × dim floats, row after row. */
  readonly rows: Float32Array;
  readonly dim: number;
}

/** Bytes of text per chunk of a .vec, refilled for each: the file is written as it is formatted. */
const VEC_CHUNK_BYTES = 4 << 20;
/** The most bytes one number takes at precision 5 (`-1.2345e-38`), with its space. */
const NUMBER_BYTES = 16;

/**
 * Writes `rows` as fastText writes a .vec (`operator<<(Vector)`: 5 significant digits, each
 * followed by a space; names are bytes, held as latin1 strings), formatted straight into bytes.
 */
export function writeNamedRows(path: string, rows: NamedRows): void {
  writeFileWhole(path, vecChunks(rows));
}

function* vecChunks({ names, rows, dim }: NamedRows): Generator<Uint8Array> {
  let buffer = new Uint8Array(VEC_CHUNK_BYTES);
  let at = writeByteString(`${names.length} ${dim}\n`, buffer, 0);
  for (let i = 0; i < names.length; i++) {
    const need = names[i].length + 2 + dim * NUMBER_BYTES;
    if (at + need > buffer.length) {
      yield buffer.subarray(0, at);
      at = 0;
      if (need > buffer.length) buffer = new Uint8Array(need);
    }
    at = writeByteString(names[i], buffer, at);
    buffer[at++] = 0x20;
    for (let d = i * dim; d < (i + 1) * dim; d++) {
      at = writeG(rows[d], 5, buffer, at);
      buffer[at++] = 0x20;
    }
    buffer[at++] = 0x0a;
  }
  yield buffer.subarray(0, at);
}

/** Each word of the dictionary and its vector as getWordVector gives it (its character n-grams included). */
function wordVectors(model: FastTextInference): NamedRows {
  const { dict, dim, input } = model;
  const names: string[] = [];
  for (let w = 0; w < dict.nwords; w++) names.push(dict.word(w));
  const rows = new Float32Array(dict.nwords * dim);
  if (dict.options.maxn <= 0 && input instanceof SavedRowsMatrix) {
    // Without character n-grams a word's vector is its own row (word w is row w) over one: the
    // rows in one walk, not a lookup per word. The sum starts at +0, so -0 becomes +0 as there.
    input.fillRows(0, dict.nwords, rows);
    for (let i = 0; i < rows.length; i++) rows[i] += 0;
  } else for (let w = 0; w < dict.nwords; w++) rows.set(model.wordVector(dict.word(w)), w * dim);
  return { names, rows, dim };
}

/** `<prefix>.vec` as fastText's saveVectors writes it: each word's vector, its character n-grams included. */
export function writeWordVectors(path: string, model: FastTextInference): void {
  writeNamedRows(path, wordVectors(model));
}

/**
 * writeWordVectors on a worker thread, while this thread goes on (writing the model's .bin):
 * the .vec is text, formatting its numbers is CPU work, and the .bin is mostly the kernel
 * copying 800 MB into the file, so on two cores the two overlap. The word vectors are taken
 * here, before the promise is returned; it settles when the file is in place.
 */
export function writeWordVectorsInBackground(path: string, model: FastTextInference): Promise<void> {
  const vectors = wordVectors(model);
  return runFileThread(
    bundleEntry('vec-writer-thread') ?? new URL('./vec-writer-thread.js', import.meta.url),
    { path, vectors },
    [vectors.rows.buffer as ArrayBuffer],
  );
}

/**
 * `<prefix>.output` as fastText's `-saveOutput` writes it: the output matrix's rows, each
 * named by its label (supervised) or word.
 */
export function writeOutputVectors(path: string, model: FastTextInference, output: DenseMatrix): void {
  const { dict } = model;
  const sup = model.args.model === 'sup';
  const n = sup ? dict.nlabels : dict.nwords;
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(sup ? dict.label(i) : dict.word(i));
  writeNamedRows(path, { names, rows: output.data.subarray(0, n * output.cols), dim: output.cols });
}
