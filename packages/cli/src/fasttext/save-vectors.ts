import { Worker } from 'node:worker_threads';
import { writeFileWhole } from '@rowshard/coordinator';
import { type DenseMatrix, type FastTextInference, formatG } from '@rowshard/core';

/** A vector as fastText's `operator<<(Vector)` writes it: 5 significant digits, each followed by a space. */
function vectorText(v: Float32Array): string {
  let s = '';
  for (const x of v) s += `${formatG(x, 5)} `;
  return s;
}

/** Named rows as a fastText text file of vectors: `<count> <dim>`, then `<name> <v0> <v1> ... ` per row. */
export interface NamedRows {
  readonly names: readonly string[];
  /** names.length × dim floats, row after row. */
  readonly rows: Float32Array;
  readonly dim: number;
}

/** Writes `rows` as fastText writes a .vec (its names are bytes, held as latin1 strings). */
export function writeNamedRows(path: string, { names, rows, dim }: NamedRows): void {
  const lines = [`${names.length} ${dim}\n`];
  for (let i = 0; i < names.length; i++) lines.push(`${names[i]} ${vectorText(rows.subarray(i * dim, (i + 1) * dim))}\n`);
  writeFileWhole(path, [Buffer.from(lines.join(''), 'latin1')]);
}

/** Each word of the dictionary and its vector as getWordVector gives it (its character n-grams included). */
function wordVectors(model: FastTextInference): NamedRows {
  const { dict, dim } = model;
  const names: string[] = [];
  const rows = new Float32Array(dict.nwords * dim);
  for (let w = 0; w < dict.nwords; w++) {
    names.push(dict.word(w));
    rows.set(model.wordVector(dict.word(w)), w * dim);
  }
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
  const worker = new Worker(new URL('./vec-writer-thread.js', import.meta.url), {
    workerData: { path, vectors },
    transferList: [vectors.rows.buffer as ArrayBuffer],
  });
  return new Promise((resolve, reject) => {
    // The thread's own error (a full disk, say) is thrown here as writeWordVectors would throw it.
    let failed: Error | null = null;
    worker.once('message', (m: { error?: string; code?: string }) => {
      if (m.error !== undefined) failed = Object.assign(new Error(m.error), m.code === undefined ? {} : { code: m.code });
    });
    worker.once('error', (e) => {
      failed = e;
    });
    worker.once('exit', (code) => {
      if (failed) reject(failed);
      else if (code !== 0) reject(new Error(`${path}: the thread writing it exited with code ${code}`));
      else resolve();
    });
  });
}

/**
 * A model's `.bin` (its chunks written whole, in place when complete) and its `.vec`, the
 * second formatted on another thread while this one writes the first. An error writing the
 * .bin is the one thrown.
 */
export async function writeModelAndVectors(
  binPath: string,
  binChunks: Iterable<Uint8Array>,
  vecPath: string,
  model: FastTextInference,
): Promise<void> {
  const vectors = writeWordVectorsInBackground(vecPath, model);
  try {
    writeFileWhole(binPath, binChunks);
  } catch (e) {
    await vectors.catch(() => {});
    throw e;
  }
  await vectors;
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
