import { createReadStream } from 'node:fs';
import { ErrorCodes, optional, positiveInt, RowshardError } from '@rowshard/core';
import type { TextFormat, TextReadOptions } from './read-options.js';
import { type LocatedRecord, RecordDecoder } from './record-decoder.js';

export interface ReadRecordsOptions extends TextReadOptions {
  /** Bytes per read; the default suits disks, tiny values let tests cut characters in half. */
  readonly chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 1 << 16;

/**
 * Streams the records of a text file. Memory stays bounded by one chunk plus the longest
 * record, so corpora larger than memory can be read; stopping early (break) closes the file.
 *
 * Bytes are decoded with a fatal UTF-8 decoder in streaming mode, which carries a character cut
 * by a chunk boundary over to the next chunk. Invalid UTF-8 is an error rather than U+FFFD:
 * a Latin-1 file read as UTF-8 would otherwise train on silently garbled words.
 */
export async function* readRecords(
  path: string,
  format: TextFormat,
  options: ReadRecordsOptions = {},
): AsyncGenerator<LocatedRecord, void, undefined> {
  const { chunkBytes, ...readOptions } = options;
  const highWaterMark = optional(chunkBytes, DEFAULT_CHUNK_BYTES, (v) => positiveInt(v, 'chunkBytes'));
  const decoder = new RecordDecoder(path, format, readOptions);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stream = createReadStream(path, { highWaterMark });
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let offset = 0;
  try {
    while (true) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (e) {
        throw unreadable(path, e);
      }
      const bytes = next.done ? undefined : next.value;
      let text: string;
      try {
        text = utf8.decode(bytes, { stream: !next.done });
      } catch {
        const where = bytes
          ? `in bytes ${offset}..${offset + bytes.length - 1} of the file, at or after this line`
          : 'the file ends in the middle of a character';
        throw new RowshardError(ErrorCodes.BAD_DATA, `${path}:${decoder.line}: not valid UTF-8 (${where})`, {
          file: path,
          line: decoder.line,
        });
      }
      offset += bytes?.length ?? 0;
      for (const record of decoder.push(text)) yield record;
      if (next.done) break;
    }
    for (const record of decoder.end()) yield record;
  } finally {
    stream.destroy();
  }
}

function unreadable(path: string, e: unknown): RowshardError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
  return new RowshardError(ErrorCodes.BAD_DATA, `${path}: cannot read the data file (${why})`, { file: path, code: err.code });
}
