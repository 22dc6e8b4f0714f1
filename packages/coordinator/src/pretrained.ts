import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  decodeFloats,
  ErrorCodes,
  type FloatEncoding,
  forEachWordVector,
  type PretrainedSource,
  parseNpy,
  parseNpyHeader,
  parseSafetensorsHeader,
  parseVocabulary,
  RowshardError,
  rowInitializer,
  type SafetensorsHeader,
  type TableSpec,
  type TensorLayout,
} from '@rowshard/core';

/**
 * nn.Embedding.from_pretrained for a job's table: the whole table's starting rows from
 *
 * - `.npy` (numpy.save, rowshard's own export): float16/32/64 of either byte order, in C or
 *   Fortran order, shape [rows, dim];
 * - safetensors (safetensors.torch.save_file, rowshard's export): the tensor `weight`,
 *   `<table>.weight` or the file's only tensor, F16, BF16, F32 or F64, shape [rows, dim];
 * - word2vec, text or binary (told apart by the bytes), and GloVe text.
 *
 * A file may have fewer rows than the table: the rest keep their deterministic init. Text
 * files carry words: with a vocabulary (formats/vocabulary-text, line i = row i) each vector
 * goes to its word's row and words the vocabulary lacks are skipped; without one, vector i
 * is row i. Every mistake is E_BAD_DATA naming the file, the table and the field, and
 * `checkPretrained` finds them all before any process starts.
 */
export interface PretrainedInfo {
  readonly table: string;
  readonly file: string;
  readonly format: PretrainedSource['format'];
  /** word2vec only: the binary layout. */
  readonly binary: boolean;
  /** Table rows the file sets (the rest keep their init). */
  readonly rowsSet: number;
}

interface RowSink {
  /** Row `row` of the table is `values[offset .. offset + dim)`. */
  set(row: number, values: Float32Array, offset: number): void;
}

/** Reads, checks and fits the file to the table without keeping its rows: for `rowshard train` before start-up. */
export function checkPretrained(spec: TableSpec, source: PretrainedSource): PretrainedInfo {
  return readPretrained(spec, source, null);
}

/** The table's starting rows, [numEmbeddings, dim]: the file's rows, and the deterministic init elsewhere. */
export function loadPretrained(spec: TableSpec, source: PretrainedSource, seed: number): Float32Array {
  const dim = spec.embeddingDim;
  const out = new Float32Array(spec.numEmbeddings * dim);
  const filled = new Uint8Array(spec.numEmbeddings);
  readPretrained(spec, source, {
    set(row, values, offset) {
      out.set(values.subarray(offset, offset + dim), row * dim);
      filled[row] = 1;
    },
  });
  const init = rowInitializer(spec, seed);
  for (let r = 0; r < spec.numEmbeddings; r++) if (!filled[r]) init.fill(r, 0, out, r * dim);
  return out;
}

/** Makes relative `pretrained.path` and `pretrained.vocab` of a job (JSON) absolute against `base`, in place. */
export function absolutisePretrainedPaths(job: Record<string, unknown>, base: string): void {
  const tables = job.tables;
  if (!tables || typeof tables !== 'object') return;
  for (const t of Object.values(tables as Record<string, unknown>)) {
    const p = (t as { pretrained?: unknown } | null)?.pretrained as Record<string, unknown> | undefined;
    if (!p || typeof p !== 'object') continue;
    for (const key of ['path', 'vocab']) {
      const value = p[key];
      if (typeof value === 'string' && value !== '' && !isAbsolute(value)) p[key] = resolve(base, value);
    }
  }
}

/** E_BAD_DATA for table `spec`'s pretrained `file`, naming the field (`path` unless told), the file and why. */
export function pretrainedFailure(spec: TableSpec, file: string): (why: string, key?: string) => RowshardError {
  const field = `tables.${spec.name}.pretrained`;
  return (why, key = 'path') =>
    new RowshardError(ErrorCodes.BAD_DATA, `${field}.${key}: ${file}: ${why}`, {
      file,
      table: spec.name,
      field: `${field}.${key}`,
    });
}

function readPretrained(spec: TableSpec, source: PretrainedSource, sink: RowSink | null): PretrainedInfo {
  const dim = spec.embeddingDim;
  const rows = spec.numEmbeddings;
  const file = source.path;
  const field = `tables.${spec.name}.pretrained`;
  const fail = pretrainedFailure(spec, file);
  const rethrow = (e: unknown): never => {
    if (e instanceof RowshardError && !String(e.details.field ?? '').startsWith(field)) {
      throw new RowshardError(ErrorCodes.BAD_DATA, `${field}.path: ${e.message}`, {
        ...e.details,
        table: spec.name,
        field: `${field}.path`,
      });
    }
    throw e;
  };
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch (e) {
    throw fail(`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const fitShape = (shape: readonly number[], what: string) => {
    if (shape.length !== 2 || shape[1] !== dim || shape[0] > rows) {
      throw fail(
        `${what} is [${shape.join(', ')}]; table '${spec.name}' is [${rows}, ${dim}] (a file may have fewer rows, not more)`,
      );
    }
  };
  if (source.vocab !== null && (source.format === 'npy' || source.format === 'safetensors')) {
    throw fail(`a vocabulary maps the words of word2vec and GloVe files; a ${source.format} file holds rows in order`, 'vocab');
  }
  const info = (rowsSet: number, binary = false): PretrainedInfo => ({
    table: spec.name,
    file,
    format: source.format,
    binary,
    rowsSet,
  });
  try {
    switch (source.format) {
      case 'npy': {
        if (!sink) {
          const h = parseNpyHeader(readHead(file, size, npyHeaderBytes), size, file);
          fitShape(h.shape, 'its array');
          return info(h.shape[0]);
        }
        const a = parseNpy(readFileSync(file), file);
        fitShape(a.shape, 'its array');
        for (let r = 0; r < a.shape[0]; r++) sink.set(r, a.data, r * dim);
        return info(a.shape[0]);
      }
      case 'safetensors': {
        const head = readHead(file, size, safetensorsHeaderBytes);
        const h = parseSafetensorsHeader(head, size, file);
        const t = pickTensor(h, spec.name, fail);
        const encoding = floatDtype(t, fail);
        fitShape(t.shape, `tensor '${t.name}'`);
        if (!sink) return info(t.shape[0]);
        const bytes = readFileSync(file);
        const values = decodeFloats(bytes.subarray(h.dataStart + t.begin, h.dataStart + t.end), encoding, true);
        for (let r = 0; r < t.shape[0]; r++) sink.set(r, values, r * dim);
        return info(t.shape[0]);
      }
      case 'word2vec':
      case 'glove': {
        const vocab = source.vocab ? readVocab(source.vocab, rows, spec.name) : null;
        let next = 0;
        let rowsSet = 0;
        const seen = new Uint8Array(rows);
        const summary = forEachWordVector(readFileSync(file), source.format, dim, file, (word, vector, at) => {
          const target = vocab ? vocab.get(word) : next++;
          if (target === undefined) return; // a word the table's vocabulary does not have
          if (target >= rows)
            throw fail(`${at}: more vectors than the table's ${rows} rows (give a vocabulary to map words to rows)`);
          if (!seen[target]) rowsSet++;
          seen[target] = 1;
          sink?.set(target, vector, 0);
        });
        return info(rowsSet, summary.binary);
      }
    }
  } catch (e) {
    return rethrow(e);
  }
}

const npyHeaderBytes = (prefix: Uint8Array): number =>
  prefix.length < 12
    ? 12
    : prefix[6] === 1
      ? 10 + (prefix[8] | (prefix[9] << 8))
      : 12 + new DataView(prefix.buffer, prefix.byteOffset).getUint32(8, true);

const safetensorsHeaderBytes = (prefix: Uint8Array): number =>
  prefix.length < 8 ? 8 : 8 + Number(new DataView(prefix.buffer, prefix.byteOffset).getBigUint64(0, true));

/** The first bytes of a file, as many as `need(prefix)` says its header takes (at most 100 MB). */
function readHead(file: string, size: number, need: (prefix: Uint8Array) => number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const read = (n: number) => {
      const buf = new Uint8Array(Math.max(0, Math.min(n, size, 100_000_000)));
      let got = 0;
      while (got < buf.length) {
        const k = readSync(fd, buf, got, buf.length - got, got);
        if (k === 0) break;
        got += k;
      }
      return buf.subarray(0, got);
    };
    const first = read(4096);
    const want = need(first);
    return want <= first.length ? first : read(want);
  } finally {
    closeSync(fd);
  }
}

function pickTensor(h: SafetensorsHeader, table: string, fail: (why: string) => RowshardError): TensorLayout {
  const names = h.tensors.map((t) => t.name);
  const t =
    h.tensors.find((x) => x.name === 'weight') ??
    h.tensors.find((x) => x.name === `${table}.weight`) ??
    (h.tensors.length === 1 ? h.tensors[0] : undefined);
  if (!t) throw fail(`has no tensor named 'weight' or '${table}.weight' (tensors: ${names.join(', ') || 'none'})`);
  return t;
}

function floatDtype(t: TensorLayout, fail: (why: string) => RowshardError): FloatEncoding {
  const encoding = ({ F16: 'f16', BF16: 'bf16', F32: 'f32', F64: 'f64' } as Record<string, FloatEncoding>)[t.dtype];
  if (!encoding) throw fail(`tensor '${t.name}' is ${t.dtype}; F16, BF16, F32 and F64 are supported`);
  return encoding;
}

/** The words of a vocabulary file (line i = row i), as word → row; E_BAD_DATA naming the field. */
export function readVocab(path: string, rows: number, table = ''): Map<string, number> {
  const field = `tables.${table}.pretrained.vocab`;
  const bad = (why: string) => new RowshardError(ErrorCodes.BAD_DATA, `${field}: ${path}: ${why}`, { file: path, field, table });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw bad(`cannot read the vocabulary (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let words: string[];
  try {
    words = parseVocabulary(text, path);
  } catch (e) {
    throw new RowshardError(ErrorCodes.BAD_DATA, `${field}: ${(e as Error).message}`, { file: path, field, table });
  }
  if (words.length > rows) throw bad(`${words.length} words for a table of ${rows} rows`);
  return new Map(words.map((w, i) => [w, i]));
}
