import { type FastTextArgs, LOSS_CODES, MODEL_CODES } from './args.js';
import type { FastTextDictionary } from './dictionary.js';
import { DenseMatrix, type FastTextMatrix, type ProductQuantizer, QuantMatrix, type RowBlockMatrix } from './matrix.js';
import { writeByteString } from './tokens.js';

/** fastText's file signature (`FASTTEXT_FILEFORMAT_MAGIC_INT32`) and the versions 0.9.x writes and reads. */
export const FASTTEXT_MAGIC = 793712314;
export const FASTTEXT_VERSION = 12;

/** A fastText model as its `.bin` / `.ftz` file holds it (`FastText::saveModel`). */
export interface FastTextModelFile {
  readonly version: number;
  readonly args: FastTextArgs;
  readonly dict: FastTextDictionary;
  readonly input: FastTextMatrix;
  readonly output: FastTextMatrix;
  /** Whether the input matrix is quantised (a `.ftz` from `fasttext quantize`). */
  readonly quantInput: boolean;
  /** Whether the output matrix is quantised too (`-qout`). */
  readonly quantOutput: boolean;
}

/** Whether bytes start with fastText's signature (a .bin/.ftz, not a rowshard file). */
export function isFastTextModel(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0, true) === FASTTEXT_MAGIC;
}

/** Rows per chunk of a RowBlockMatrix: 16384 rows × dim 100 = 6.25 MiB, one buffer reused. */
const STREAM_ROWS = 16384;

function* matrixChunks(x: DenseMatrix | QuantMatrix | RowBlockMatrix): Generator<Uint8Array> {
  const bytesOf = (f: Float32Array) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  const head = (n: number, set: (v: DataView) => void) => {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    return b;
  };
  if (!(x instanceof QuantMatrix)) {
    yield denseMatrixHead(x.rows, x.cols);
    if (x instanceof DenseMatrix) {
      yield bytesOf(x.data);
      return;
    }
    const block = new Float32Array(Math.min(STREAM_ROWS, x.rows) * x.cols);
    for (let first = 0; first < x.rows; first += STREAM_ROWS) {
      const count = Math.min(STREAM_ROWS, x.rows - first);
      x.fillRows(first, count, block);
      yield bytesOf(block.subarray(0, count * x.cols));
    }
    return;
  }
  const pqChunks = (pq: ProductQuantizer) => [
    head(16, (v) => {
      v.setInt32(0, pq.dim, true);
      v.setInt32(4, pq.nsubq, true);
      v.setInt32(8, pq.dsub, true);
      v.setInt32(12, pq.lastdsub, true);
    }),
    bytesOf(pq.centroids),
  ];
  // QuantMatrix::save: qnorm, m, n, codesize, codes, the quantiser, then the norms' codes and quantiser.
  yield head(21, (v) => {
    v.setUint8(0, x.normCodes ? 1 : 0);
    v.setBigInt64(1, BigInt(x.rows), true);
    v.setBigInt64(9, BigInt(x.cols), true);
    v.setInt32(17, x.codes.length, true);
  });
  yield x.codes;
  yield* pqChunks(x.pq);
  if (x.normCodes && x.npq) yield* [x.normCodes, ...pqChunks(x.npq)];
}

/**
 * A fastText 0.9.2 model file (version 12), as `FastText::saveModel` writes it: a `.bin` of
 * dense matrices, or a `.ftz` with a product-quantised input (and, with `-qout`, output)
 * matrix. In chunks, drawn one at a time, for a durable write: a RowBlockMatrix's rows come in
 * one buffer, refilled for each chunk, so a chunk must be written before the next is drawn.
 */
export function* serializeFastTextModel(m: {
  args: FastTextArgs;
  dict: FastTextDictionary;
  input: DenseMatrix | QuantMatrix | RowBlockMatrix;
  output: DenseMatrix | QuantMatrix;
}): Generator<Uint8Array> {
  const quantInput = m.input instanceof QuantMatrix;
  if (m.output instanceof QuantMatrix && !quantInput)
    throw new Error('a quantised output matrix needs a quantised input matrix (fastText reads qout only then)');
  yield fastTextModelHead(m.args, m.dict, quantInput);
  yield* matrixChunks(m.input);
  yield* fastTextModelTail(m.output);
}

/**
 * A model file's bytes before its input matrix: the args, the dictionary and the flag saying
 * whether the input matrix is quantised. With denseMatrixHead and the rows, then
 * fastTextModelTail, they make serializeFastTextModel's bytes (a file can be begun before
 * training ends: cli's model-draft.ts).
 */
export function fastTextModelHead(a: FastTextArgs, d: FastTextDictionary, quantInput: boolean): Uint8Array {
  // Sized first and written in place: a byte at a time into an array took 50 ms for a
  // dictionary of 27k words, and a fastText command writes the head twice.
  let size = 4 * 14 + 8 + 4 * 3 + 8 * 2 + 8 * d.pruneIndex.size + 1;
  for (const e of d.entries) size += e.word.length + 10; // the word, \0, its count (int64), its type
  const head = new Uint8Array(size);
  const v = new DataView(head.buffer);
  let at = 0;
  const i32 = (x: number) => {
    v.setInt32(at, x, true);
    at += 4;
  };
  // An int64 from its halves (|x| < 2^53): no BigInt per dictionary entry.
  const i64 = (x: number) => {
    const high = Math.floor(x / 4294967296);
    v.setUint32(at, x - high * 4294967296, true);
    v.setInt32(at + 4, high, true);
    at += 8;
  };
  i32(FASTTEXT_MAGIC);
  i32(FASTTEXT_VERSION);
  for (const x of [
    a.dim,
    a.ws,
    a.epoch,
    a.minCount,
    a.neg,
    a.wordNgrams,
    LOSS_CODES[a.loss],
    MODEL_CODES[a.model],
    a.bucket,
    a.minn,
    a.maxn,
    a.lrUpdateRate,
  ])
    i32(x);
  v.setFloat64(at, a.t, true);
  at += 8;
  i32(d.size);
  i32(d.nwords);
  i32(d.nlabels);
  i64(d.ntokens);
  i64(d.pruneIndexSize);
  for (const e of d.entries) {
    at = writeByteString(e.word, head, at);
    head[at++] = 0;
    i64(e.count);
    head[at++] = e.type === 'word' ? 0 : 1;
  }
  for (const [key, value] of d.pruneIndex) {
    i32(key);
    i32(value);
  }
  head[at++] = quantInput ? 1 : 0;
  if (at !== size) throw new Error(`fastTextModelHead: wrote ${at} bytes of ${size}`);
  return head;
}

/** A dense matrix's 16 bytes before its rows: its row and column counts (int64). */
export function denseMatrixHead(rows: number, cols: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, BigInt(rows), true);
  v.setBigInt64(8, BigInt(cols), true);
  return b;
}

/** A model file's bytes after its input matrix: whether the output matrix is quantised, and the matrix. */
export function* fastTextModelTail(output: DenseMatrix | QuantMatrix): Generator<Uint8Array> {
  yield Uint8Array.of(output instanceof QuantMatrix ? 1 : 0);
  yield* matrixChunks(output);
}
