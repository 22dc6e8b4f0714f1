import { ErrorCodes, RowshardError } from '../errors.js';
import { DEFAULT_LABEL_PREFIX, type FastTextArgs, LOSS_CODES, lossFromCode, MODEL_CODES, modelFromCode } from './args.js';
import { type DictEntry, FastTextDictionary } from './dictionary.js';
import { DenseMatrix, type FastTextMatrix, ProductQuantizer, QuantMatrix, type RowBlockMatrix } from './matrix.js';
import { bytesToWord, writeByteString } from './tokens.js';

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

/** Little-endian reads with bounds checks: a short file is an error naming what was cut. */
class Cursor {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  fail(message: string): never {
    throw new RowshardError(ErrorCodes.BAD_DATA, `${this.file}: ${message}`, { file: this.file, offset: this.pos });
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length)
      this.fail(`truncated fastText model: ${what} needs ${n} bytes at offset ${this.pos}, the file has ${this.bytes.length}`);
  }

  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`${what} is out of range (${v})`);
    return Number(v);
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++];
  }

  bool(what: string): boolean {
    const b = this.u8(what);
    if (b > 1) this.fail(`${what} must be a bool (0 or 1), got ${b} at offset ${this.pos - 1}`);
    return b === 1;
  }

  /** A NUL-terminated byte string. */
  cString(what: string): string {
    const end = this.bytes.indexOf(0, this.pos);
    if (end < 0) this.fail(`truncated fastText model: ${what} has no terminating NUL`);
    const s = bytesToWord(this.bytes, this.pos, end);
    this.pos = end + 1;
    return s;
  }

  bytesOf(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** n floats: a view of the bytes where they lie 4-aligned in memory (fastTextModelBytes arranges it for the input matrix), else a copy. */
  floats(n: number, what: string): Float32Array {
    this.need(n * 4, what);
    const at = this.bytes.byteOffset + this.pos;
    const out =
      at % 4 === 0
        ? new Float32Array(this.bytes.buffer, at, n)
        : new Float32Array(this.bytes.buffer.slice(at, at + n * 4) as ArrayBuffer);
    this.pos += n * 4;
    return out;
  }
}

function readArgs(c: Cursor): FastTextArgs {
  const dim = c.i32('args.dim');
  const ws = c.i32('args.ws');
  const epoch = c.i32('args.epoch');
  const minCount = c.i32('args.minCount');
  const neg = c.i32('args.neg');
  const wordNgrams = c.i32('args.wordNgrams');
  const lossCode = c.i32('args.loss');
  const modelCode = c.i32('args.model');
  const bucket = c.i32('args.bucket');
  const minn = c.i32('args.minn');
  const maxn = c.i32('args.maxn');
  const lrUpdateRate = c.i32('args.lrUpdateRate');
  const t = c.f64('args.t');
  const loss = lossFromCode(lossCode);
  const model = modelFromCode(modelCode);
  if (!loss) c.fail(`unknown loss code ${lossCode} in the arguments (fastText knows 1 hs, 2 ns, 3 softmax, 4 ova)`);
  if (!model) c.fail(`unknown model code ${modelCode} in the arguments (fastText knows 1 cbow, 2 sg, 3 sup)`);
  if (dim < 1) c.fail(`args.dim must be positive, got ${dim}`);
  if (bucket < 0 || minn < 0 || maxn < 0 || wordNgrams < 1) c.fail('args: bucket, minn, maxn must be ≥ 0 and wordNgrams ≥ 1');
  return { dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate, t };
}

function readDictionary(c: Cursor, args: FastTextArgs, labelPrefix: string): FastTextDictionary {
  const size = c.i32('dictionary size');
  const nwords = c.i32('dictionary nwords');
  const nlabels = c.i32('dictionary nlabels');
  const ntokens = c.i64('dictionary ntokens');
  const pruneSize = c.i64('dictionary pruneidx_size');
  if (size < 0 || nwords < 0 || nlabels < 0 || nwords + nlabels !== size)
    c.fail(`dictionary sizes do not add up: size ${size}, nwords ${nwords}, nlabels ${nlabels}`);
  const entries: DictEntry[] = [];
  for (let i = 0; i < size; i++) {
    const word = c.cString(`dictionary entry ${i}`);
    const count = c.i64(`dictionary entry ${i} count`);
    const type = c.u8(`dictionary entry ${i} type`);
    if (type > 1) c.fail(`dictionary entry ${i} has type ${type} (0 word, 1 label)`);
    if ((type === 0) !== i < nwords) c.fail(`dictionary entry ${i}: words must come before labels (nwords ${nwords})`);
    entries.push({ word, count, type: type === 0 ? 'word' : 'label' });
  }
  const prune = new Map<number, number>();
  for (let i = 0; i < pruneSize; i++) prune.set(c.i32('dictionary pruneidx key'), c.i32('dictionary pruneidx value'));
  return FastTextDictionary.restore(entries, ntokens, pruneSize, prune, {
    labelPrefix,
    minn: args.minn,
    maxn: args.maxn,
    bucket: args.bucket,
    wordNgrams: args.wordNgrams,
  });
}

function readDense(c: Cursor, what: string): DenseMatrix {
  const m = c.i64(`${what} rows`);
  const n = c.i64(`${what} cols`);
  if (m < 0 || n < 0) c.fail(`${what} has a negative shape ${m} × ${n}`);
  if (m * n * 4 > c.remaining) c.fail(`truncated fastText model: ${what} is ${m} × ${n} floats, ${c.remaining} bytes are left`);
  return new DenseMatrix(m, n, c.floats(m * n, what));
}

function readPq(c: Cursor, what: string): ProductQuantizer {
  const dim = c.i32(`${what} dim`);
  const nsubq = c.i32(`${what} nsubq`);
  const dsub = c.i32(`${what} dsub`);
  const lastdsub = c.i32(`${what} lastdsub`);
  if (dim < 1 || nsubq < 1 || dsub < 1 || lastdsub < 1 || (nsubq - 1) * dsub + lastdsub !== dim)
    c.fail(`${what}: inconsistent product quantizer (dim ${dim}, nsubq ${nsubq}, dsub ${dsub}, lastdsub ${lastdsub})`);
  return new ProductQuantizer(dim, nsubq, dsub, lastdsub, c.floats(dim * ProductQuantizer.KSUB, `${what} centroids`));
}

function readQuant(c: Cursor, what: string): QuantMatrix {
  const qnorm = c.bool(`${what} qnorm`);
  const m = c.i64(`${what} rows`);
  const n = c.i64(`${what} cols`);
  const codesize = c.i32(`${what} codesize`);
  const codes = c.bytesOf(codesize, `${what} codes`);
  const pq = readPq(c, `${what} quantizer`);
  if (pq.dim !== n || codesize !== m * pq.nsubq)
    c.fail(`${what}: ${codesize} codes for ${m} rows of ${pq.nsubq} sub-vectors, dim ${pq.dim} for ${n} columns`);
  let normCodes: Uint8Array | null = null;
  let npq: ProductQuantizer | null = null;
  if (qnorm) {
    normCodes = c.bytesOf(m, `${what} norm codes`);
    npq = readPq(c, `${what} norm quantizer`);
  }
  return new QuantMatrix(m, n, codes, pq, normCodes, npq);
}

/**
 * Where a dense input matrix's floats begin in a model file, from the file's first bytes: after
 * the args, the dictionary (its entries walked, not parsed) and the matrix's shape. Null when
 * `prefix` ends before that, the input matrix is quantised, or the bytes are not a model (the
 * parse says why). A reader puts the file where this offset is 4-aligned, and the 800 MB of
 * rows are used where they were read, not copied (parseFastTextModel).
 */
export function fastTextMatrixOffset(prefix: Uint8Array): number | null {
  const v = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  // magic, version, 12 int32 args, t (double), then size, nwords, nlabels (int32), ntokens, pruneidx_size (int64).
  let at = 8 + 12 * 4 + 8;
  if (prefix.length < at + 28 || !isFastTextModel(prefix)) return null;
  const size = v.getInt32(at, true);
  const pruneSize = Number(v.getBigInt64(at + 20, true));
  at += 28;
  for (let i = 0; i < size; i++) {
    const end = prefix.indexOf(0, at);
    if (end < 0) return null;
    at = end + 1 + 8 + 1; // the word's NUL, its count, its type
  }
  at += 8 * Math.max(0, pruneSize) + 1 + 16; // the pruned n-gram map, the quantised flag, rows and cols
  if (at > prefix.length || prefix[at - 17] !== 0) return null;
  return at;
}

/**
 * Parses a fastText 0.9.x model (`.bin`, or `.ftz` from `fasttext quantize`); `file` names it
 * in every error. Checks the signature and version, then every size against the bytes left,
 * and the matrices' shapes against the dictionary and `dim`.
 */
export function parseFastTextModel(bytes: Uint8Array, file: string, labelPrefix = DEFAULT_LABEL_PREFIX): FastTextModelFile {
  const c = new Cursor(bytes, file);
  const { version, args, dict, quantInput } = readHead(c, labelPrefix);
  const input = quantInput ? readQuant(c, 'input matrix') : readDense(c, 'input matrix');
  // A pruned dictionary with a dense input matrix (rowshard's step between -cutoff and -retrain)
  // is read as fastText reads it: nwords + pruneidx_size rows, n-grams through the map.
  const quantOutput = c.bool('qout flag');
  const output = quantInput && quantOutput ? readQuant(c, 'output matrix') : readDense(c, 'output matrix');
  if (c.remaining !== 0) c.fail(`${c.remaining} bytes after the output matrix (offset ${c.offset})`);
  checkShapes(c, args, dict, input, output);
  return { version, args, dict, input, output, quantInput, quantOutput };
}

/**
 * A dense model (a .bin) parsed around its input matrix's rows, for a reader that takes rows
 * from the file as it needs them: `head` is the file's first fastTextMatrixOffset bytes (args,
 * dictionary, the matrix's shape), `tail` the bytes after the rows (the output matrix), and
 * `rows(rows, cols)` gives the input matrix. The same checks as parseFastTextModel.
 */
export function parseFastTextModelAround(
  head: Uint8Array,
  tail: Uint8Array,
  file: string,
  rows: (rows: number, cols: number) => FastTextMatrix,
  labelPrefix = DEFAULT_LABEL_PREFIX,
): FastTextModelFile {
  const c = new Cursor(head, file);
  const { version, args, dict, quantInput } = readHead(c, labelPrefix);
  if (quantInput) c.fail('a quantised model (.ftz) is read whole');
  const m = c.i64('input matrix rows');
  const n = c.i64('input matrix cols');
  if (m < 0 || n < 0) c.fail(`input matrix has a negative shape ${m} × ${n}`);
  if (c.remaining !== 0) c.fail(`the head ends at offset ${c.offset}, not where the input matrix's rows begin`);
  const t = new Cursor(tail, file);
  t.bool('qout flag');
  const output = readDense(t, 'output matrix');
  if (t.remaining !== 0) t.fail(`${t.remaining} bytes after the output matrix`);
  const input = rows(m, n);
  checkShapes(c, args, dict, input, output);
  return { version, args, dict, input, output, quantInput: false, quantOutput: false };
}

/** The signature, version, args and dictionary, and whether the input matrix is quantised. */
function readHead(c: Cursor, labelPrefix: string) {
  if (c.remaining < 8) c.fail(`not a fastText model: ${c.remaining} bytes`);
  const magic = c.i32('magic');
  if (magic !== FASTTEXT_MAGIC) c.fail(`not a fastText model (bad magic ${magic}, expected ${FASTTEXT_MAGIC})`);
  const version = c.i32('version');
  if (version !== 11 && version !== FASTTEXT_VERSION)
    c.fail(`unsupported fastText model version ${version} (rowshard reads 11 and ${FASTTEXT_VERSION}, fastText 0.9.x)`);
  let args = readArgs(c);
  // As fastText: version 11 supervised models were trained without character n-grams.
  if (version === 11 && args.model === 'sup') args = { ...args, maxn: 0 };
  const dict = readDictionary(c, args, labelPrefix);
  const quantInput = c.bool('quant_input flag');
  return { version, args, dict, quantInput };
}

/** The matrices' shapes against the dictionary and `dim`. */
function checkShapes(c: Cursor, args: FastTextArgs, dict: FastTextDictionary, input: FastTextMatrix, output: FastTextMatrix) {
  const expectedInput = dict.nwords + (dict.pruneIndexSize >= 0 ? dict.pruneIndexSize : args.bucket);
  if (input.cols !== args.dim || input.rows !== expectedInput)
    c.fail(`input matrix is ${input.rows} × ${input.cols}, expected ${expectedInput} × ${args.dim}`);
  const expectedOutput = args.model === 'sup' ? dict.nlabels : dict.nwords;
  if (output.cols !== args.dim || output.rows !== expectedOutput)
    c.fail(`output matrix is ${output.rows} × ${output.cols}, expected ${expectedOutput} × ${args.dim}`);
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
