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
  RowshardError,
} from '@rowshard/core';

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
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const read = (into: Uint8Array) => {
      for (let at = 0; at < into.length; ) {
        const n = readSync(fd, into, at, into.length - at, at);
        if (n === 0) return into.subarray(0, at); // the file shrank meanwhile: the parse says what is cut
        at += n;
      }
      return into;
    };
    let offset: number | null = null;
    for (let prefix = Math.min(stat.size, HEAD_READ_BYTES); ; prefix = Math.min(stat.size, 4 * prefix)) {
      offset = fastTextMatrixOffset(read(new Uint8Array(prefix)));
      if (offset !== null || prefix === stat.size) break;
    }
    const pad = offset === null ? 0 : (4 - (offset % 4)) % 4;
    return read(new Uint8Array(Buffer.allocUnsafeSlow(stat.size + pad).buffer, pad, stat.size));
  } catch (e) {
    const why = (e as { code?: string }).code === 'ENOENT' ? 'no such file' : `cannot read it (${(e as Error).message})`;
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: ${why}`, { file: path });
  } finally {
    if (fd >= 0) closeSync(fd);
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
  const file = parseFastTextModel(readModelBytes(path), path, labelPrefix);
  return { path, file, dict: file.dict, model: new FastTextInference(file.args, file.dict, file.input, file.output) };
}
