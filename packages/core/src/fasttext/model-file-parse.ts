import { ErrorCodes, RowshardError } from '../errors.js';
import { DEFAULT_LABEL_PREFIX, type FastTextArgs, lossFromCode, modelFromCode } from './args.js';
import { type DictEntry, FastTextDictionary } from './dictionary.js';
import { DenseMatrix, type FastTextMatrix, ProductQuantizer, QuantMatrix } from './matrix.js';
import { FASTTEXT_MAGIC, FASTTEXT_VERSION, type FastTextModelFile, isFastTextModel } from './model-file.js';
import { bytesToWord } from './tokens.js';

// Reading a fastText model file (`FastText::loadModel`); model-file.ts writes one.

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

  /** The offset of the next `n` bytes, which the read of `what` takes; the file must hold them. */
  private take(n: number, what: string): number {
    if (this.pos + n > this.bytes.length)
      this.fail(`truncated fastText model: ${what} needs ${n} bytes at offset ${this.pos}, the file has ${this.bytes.length}`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  i32(what: string): number {
    return this.view.getInt32(this.take(4, what), true);
  }

  i64(what: string): number {
    const v = this.view.getBigInt64(this.take(8, what), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`${what} is out of range (${v})`);
    return Number(v);
  }

  f64(what: string): number {
    return this.view.getFloat64(this.take(8, what), true);
  }

  u8(what: string): number {
    return this.bytes[this.take(1, what)];
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
    const at = this.take(n, what);
    return this.bytes.slice(at, at + n);
  }

  /** n floats: a view of the bytes where they lie 4-aligned in memory (fastTextModelBytes arranges it for the input matrix), else a copy. */
  floats(n: number, what: string): Float32Array {
    const pos = this.take(n * 4, what);
    const at = this.bytes.byteOffset + pos;
    if (at % 4 === 0) return new Float32Array(this.bytes.buffer, at, n);
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(this.bytes.subarray(pos, pos + n * 4));
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
