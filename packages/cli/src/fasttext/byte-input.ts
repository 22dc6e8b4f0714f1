import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import { ErrorCodes, RowshardError, splitByteLines, streamWords, WordReader } from '@rowshard/core';

/**
 * Input of the commands that read as fastText reads, in bytes (fastText tokenises bytes, not
 * characters): a file, or stdin for '-', streamed so that `nn` and `print-word-vectors`
 * answer each query as it is typed. A file that cannot be opened is an E_BAD_DATA line naming it.
 */
export function openInput(path: string): AsyncIterable<Buffer> {
  if (path === '-') return process.stdin;
  let fd: number;
  try {
    fd = openSync(path, 'r');
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
  } catch (e) {
    const why = (e as { code?: string }).code === 'ENOENT' ? 'no such file' : `cannot read it (${(e as Error).message})`;
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: ${why}`, { file: path });
  }
  return createReadStream(path, { fd });
}

/** Lines of bytes, each with its \n (the last one without, if the input does not end in one). */
function byteLines(path: string): AsyncGenerator<Uint8Array> {
  return splitByteLines(openInput(path));
}

/**
 * The words of each of fastText's lines of a file or stdin, as its commands read them one
 * `getLine` at a time: a text line with the word `</s>` written in it is two (WordReader.lines).
 */
export async function* fastTextLines(path: string): AsyncGenerator<string[]> {
  for await (const line of byteLines(path)) yield* new WordReader(line).lines();
}

/** Each text line of a file or stdin as its words, as `std::getline` then `>> word` read them (a `</s>` in it is a word). */
export async function* textLineWords(path: string): AsyncGenerator<string[]> {
  for await (const line of byteLines(path)) yield streamWords(line);
}

/** Whitespace-separated words as `std::cin >> word` reads them, as byte strings, query by query. */
export async function* inputWords(path: string): AsyncGenerator<string> {
  for await (const line of byteLines(path)) yield* streamWords(line);
}

/** Writes a byte string's bytes; waits for a slow reader instead of buffering everything. */
export async function writeBytes(text: string): Promise<void> {
  if (!process.stdout.write(Buffer.from(text, 'latin1'))) {
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }
}
