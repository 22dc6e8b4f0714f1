import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  DEFAULT_LABEL_PREFIX,
  ErrorCodes,
  type FastTextDictionary,
  FastTextInference,
  type FastTextModelFile,
  fastTextMatrixOffset,
  isFastTextModel,
  parseFastTextModel,
  parseFastTextModelAround,
  RowshardError,
} from '@rowshard/core';
import { FileRowsMatrix } from './file-rows-matrix.js';
import { readAt } from './read-at.js';

/** A fastText model file loaded for the fastText commands. */
export interface NativeModel {
  readonly path: string;
  readonly file: FastTextModelFile;
  readonly dict: FastTextDictionary;
  readonly model: FastTextInference;
}

/** Bytes read from a model's head to find its input matrix: grown fourfold while the dictionary goes on. */
const HEAD_READ_BYTES = 1 << 20;

/**
 * A model file's bytes, placed so that its input matrix's floats are 4-aligned in memory: they
 * are then the matrix itself (parseFastTextModel takes a view). Copying 800 MB of rows out of
 * the bytes read took 1.5 s of a 2.6 s `rowshard test`, and held the model twice in memory.
 */
function readModelBytes(path: string): Uint8Array {
  return withModelFile(path, (file) => {
    const pad = file.offset === null ? 0 : (4 - (file.offset % 4)) % 4;
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(file.size + pad).buffer, pad, file.size);
    // The bytes already read, then the rest.
    bytes.set(file.prefix);
    const rest = file.read(bytes.subarray(file.prefix.length), file.prefix.length);
    return bytes.subarray(0, file.prefix.length + rest.length);
  });
}

/** A model file open for reading, its first bytes read up to where the input matrix's rows begin (`offset`; null: not found). */
interface OpenModelFile {
  readonly fd: number;
  readonly size: number;
  /** The file's first bytes: at least `offset` of them, or the whole file when `offset` is null. */
  readonly prefix: Uint8Array;
  readonly offset: number | null;
  /** Bytes from `position` into `into` (fewer if the file ends first). */
  read(into: Uint8Array, position: number): Uint8Array;
}

/** Opens `path`, reads its head, and runs `use`; the file is closed after unless `use` keeps it (`keep`). */
function withModelFile<T>(path: string, use: (file: OpenModelFile, keep: () => void) => T): T {
  let fd = -1;
  let kept = false;
  try {
    fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    // A file that ends early (it shrank meanwhile) gives fewer bytes: the parse says what is cut.
    const read = (into: Uint8Array, position: number) => readAt(fd, into, position);
    let prefix: Uint8Array = new Uint8Array(0);
    let offset: number | null = null;
    for (let length = Math.min(stat.size, HEAD_READ_BYTES); ; length = Math.min(stat.size, 4 * length)) {
      prefix = read(new Uint8Array(length), 0);
      offset = fastTextMatrixOffset(prefix);
      if (offset !== null || length === stat.size) break;
    }
    return use({ fd, size: stat.size, prefix, offset, read }, () => {
      kept = true;
    });
  } catch (e) {
    if (e instanceof RowshardError) throw e;
    const why = (e as { code?: string }).code === 'ENOENT' ? 'no such file' : `cannot read it (${(e as Error).message})`;
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: ${why}`, { file: path });
  } finally {
    if (fd >= 0 && !kept) closeSync(fd);
  }
}

/** Whether `path` is a fastText .bin/.ftz (by its signature) rather than rowshard's own model file. */
export function isNativeModelFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false; // the caller's own reader names the problem
  }
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && isFastTextModel(head);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads a fastText 0.9.x `.bin` or `.ftz`. The label prefix is not stored in the file; as
 * fastText's tools, `__label__` unless the caller says otherwise.
 */
export function loadNativeModel(path: string, labelPrefix = DEFAULT_LABEL_PREFIX): NativeModel {
  return nativeModel(path, parseFastTextModel(readModelBytes(path), path, labelPrefix));
}

function nativeModel(path: string, file: FastTextModelFile): NativeModel {
  return { path, file, dict: file.dict, model: new FastTextInference(file.args, file.dict, file.input, file.output) };
}

/**
 * loadNativeModel for the commands that read a model line by line (test, predict, the vectors
 * of given words and lines): a .bin's input rows are read from the file as they are needed
 * (FileRowsMatrix), its head and output matrix at once; a .ftz is read whole. `close` lets the
 * file go.
 */
export function openNativeModel(path: string, labelPrefix = DEFAULT_LABEL_PREFIX): NativeModel & { close(): void } {
  const opened = withModelFile(path, (f, keep) => {
    const offset = f.offset;
    if (offset === null) return null; // a .ftz, or not a model: read whole (the parse says what is wrong)
    const head = f.prefix.subarray(0, offset);
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const rowBytes = 4 * Number(view.getBigInt64(offset - 16, true)) * Number(view.getBigInt64(offset - 8, true));
    if (!(rowBytes >= 0 && offset + rowBytes <= f.size)) return null;
    const tail = f.read(new Uint8Array(f.size - offset - rowBytes), offset + rowBytes);
    const file = parseFastTextModelAround(
      head,
      tail,
      path,
      (rows, cols) => new FileRowsMatrix(f.fd, offset, rows, cols, path),
      labelPrefix,
    );
    keep();
    return { ...nativeModel(path, file), close: () => closeSync(f.fd) };
  });
  return opened ?? { ...loadNativeModel(path, labelPrefix), close: () => {} };
}
