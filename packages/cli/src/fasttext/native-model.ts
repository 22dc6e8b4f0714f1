import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import {
  DEFAULT_LABEL_PREFIX,
  ErrorCodes,
  type FastTextDictionary,
  FastTextInference,
  type FastTextModelFile,
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

function readModelBytes(path: string): Buffer {
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return readFileSync(path);
  } catch (e) {
    const why = (e as { code?: string }).code === 'ENOENT' ? 'no such file' : `cannot read it (${(e as Error).message})`;
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: ${why}`, { file: path });
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
