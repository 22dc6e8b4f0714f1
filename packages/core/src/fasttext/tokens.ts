import { decodeUtf8, encodeUtf8 } from '../utf8.js';

/**
 * fastText's tokeniser (`Dictionary::readWord`), over bytes: a word is a run of bytes other
 * than space, \n, \r, \t, \v, \f and \0; every \n is also the word `</s>` (fastText's end of
 * sentence), and a file's last line without \n has none. Nothing is lower-cased or normalised.
 *
 * Words are kept as byte strings (each char one byte, 0..255, as `latin1` decodes them) so that
 * hashing and n-grams see exactly fastText's bytes, whatever the encoding; `wordText` turns one
 * back into text for printing (`Buffer.from(word, 'latin1')` writes the original bytes; TextDecoder's 'latin1' is
 * windows-1252 and would not).
 */
export const EOS = '</s>';
export const BOW = '<';
export const EOW = '>';

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x00;

/** Bytes to a byte string, one char per byte. */
export function bytesToWord(bytes: Uint8Array, start = 0, end = bytes.length): string {
  // Char by char: 6× faster on a word than spreading a subarray into fromCharCode (which made a
  // third of a fastText file's dictionary pass), and no argument-count limit on a long one.
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** A byte string back to its bytes. */
export function wordToBytes(word: string): Uint8Array {
  const out = new Uint8Array(word.length);
  for (let i = 0; i < word.length; i++) out[i] = word.charCodeAt(i);
  return out;
}

/** A byte string's bytes into `out` from `at` (text written straight into a buffer); returns the end. */
export function writeByteString(word: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < word.length; i++) out[at++] = word.charCodeAt(i);
  return at;
}

/** The byte string of a JavaScript string's UTF-8 encoding (a word typed on a command line). */
export function utf8Word(text: string): string {
  return bytesToWord(encodeUtf8(text));
}

/** A byte string as text (UTF-8 decoded; a malformed byte becomes U+FFFD). */
export function wordText(word: string): string {
  return decodeUtf8(wordToBytes(word));
}

/** `</s>`'s bytes: the word a \n is. */
export const EOS_BYTES = wordToBytes(EOS);

/** Whether the word bytes[start, end) is `</s>` written out. */
export function isEos(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start === EOS.length && wordStartsWith(bytes, start, end, EOS);
}

/** Whether the word bytes[at, end) begins with the byte string `prefix`. */
export function wordStartsWith(bytes: Uint8Array, at: number, end: number, prefix: string): boolean {
  if (at + prefix.length > end) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** What WordReader.next found: the end of the input, a \n (the word `</s>`), or a word at [start, end). */
export const TOKEN_END = 0;
export const TOKEN_NEWLINE = 1;
export const TOKEN_WORD = 2;

/** Reads fastText words from bytes, one at a time, as `readWord` does from a stream. */
export class WordReader {
  private pos = 0;
  /** The last word's bytes, [start, end) of the input, after `next` returned TOKEN_WORD. */
  start = 0;
  end = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Whether the last word read was a line's end (a \n), not the word `</s>` written out in the text. */
  lastWasNewline(): boolean {
    return this.pos > 0 && this.bytes[this.pos - 1] === 0x0a;
  }

  /** Whether every byte has been read (`in.peek() == EOF`). */
  atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  /**
   * The next word, as where it lies in the input (no string made: counting a corpus's tokens
   * looks them up by their bytes, TokenTable): TOKEN_WORD with its bytes at [start, end), TOKEN_NEWLINE for
   * a \n, TOKEN_END at the end.
   */
  next(): number {
    const b = this.bytes;
    let start = -1;
    while (this.pos < b.length) {
      const c = b[this.pos];
      if (isSpace(c)) {
        if (start < 0) {
          this.pos++;
          if (c === 0x0a) return TOKEN_NEWLINE;
          continue;
        }
        // The \n stays for the next call, which returns it as </s>; another space ends the word
        // and goes with it, as readWord takes it (after a word `</s>` at the very end, no line is left).
        this.start = start;
        this.end = this.pos;
        if (c !== 0x0a) this.pos++;
        return TOKEN_WORD;
      }
      if (start < 0) start = this.pos;
      this.pos++;
    }
    if (start < 0) return TOKEN_END;
    this.start = start;
    this.end = this.pos;
    return TOKEN_WORD;
  }

  /** The next word, `</s>` at a line's end, or null at the end of the input. */
  readWord(): string | null {
    const kind = this.next();
    if (kind === TOKEN_END) return null;
    return kind === TOKEN_NEWLINE ? EOS : bytesToWord(this.bytes, this.start, this.end);
  }

  /**
   * The words of the next line, its `</s>` last (absent on a last line without \n); null at the
   * end. As fastText's `getLine`, the word `</s>` written out in the text ends a line as a \n does.
   */
  readLine(): string[] | null {
    if (this.atEnd()) return null;
    const words: string[] = [];
    for (let w = this.readWord(); w !== null; w = this.readWord()) {
      words.push(w);
      if (w === EOS) break;
    }
    return words;
  }

  /**
   * Every line of the input, as fastText's commands read them one `getLine` at a time: a text
   * line with `</s>` written in it is two of fastText's lines (readLine), and both count.
   */
  *lines(): Generator<string[]> {
    for (let words = this.readLine(); words !== null; words = this.readLine()) yield words;
  }
}

/** A stream's chunks as lines of bytes, each with its \n (the last one without, if the stream does not end in one). */
export async function* splitByteLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const lines of splitByteLineChunks(chunks)) yield* lines;
}

/**
 * splitByteLines a chunk at a time: the lines each chunk completes, as one array (none for a
 * chunk inside a line). A reader of many short lines awaits once a chunk instead of once a line.
 * A line's pieces before its \n are kept as they came and joined once: joining them chunk by
 * chunk copied a long line over and over (a 16 MB line in 64 KiB reads took 3.2 s).
 */
export async function* splitByteLineChunks(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array[]> {
  let pending: Uint8Array[] = [];
  for await (const chunk of chunks) {
    let start = 0;
    let end = chunk.indexOf(0x0a);
    if (end < 0) {
      if (chunk.length > 0) pending.push(chunk);
      continue;
    }
    const lines: Uint8Array[] = [];
    if (pending.length > 0) {
      pending.push(chunk.subarray(0, end + 1));
      lines.push(joined(pending));
      pending = [];
      start = end + 1;
      end = chunk.indexOf(0x0a, start);
    }
    for (; end >= 0; end = chunk.indexOf(0x0a, start)) {
      lines.push(chunk.subarray(start, end + 1));
      start = end + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
    if (lines.length > 0) yield lines;
  }
  if (pending.length > 0) yield [joined(pending)];
}

/** The pieces of one line as one array. */
function joined(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** Whitespace-separated words as `std::cin >> word` reads them (no </s>), as byte strings. */
export function streamWords(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const c = i < bytes.length ? bytes[i] : 0x20;
    // isspace in the C locale: space, \t, \n, \v, \f, \r.
    const space = c === 0x20 || (c >= 0x09 && c <= 0x0d);
    if (space) {
      if (start >= 0) out.push(bytesToWord(bytes, start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  return out;
}
