import { dataError } from './data-error.js';

/** One CSV record and the line it starts on (a quoted field may carry it over several lines). */
export interface CsvRow {
  readonly fields: string[];
  readonly line: number;
}

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** Just read a quote inside a quoted field: either the first half of "" or the closing quote. */
const AFTER_QUOTE = 3;

const CR = 13;
const LF = 10;

/**
 * RFC 4180 CSV as a push parser. It takes text in arbitrary pieces because a quoted field may
 * hold newlines, so records cannot be found by splitting lines, and a file larger than memory
 * arrives in chunks that cut records (and "" pairs) anywhere.
 *
 * Beyond the RFC, as spreadsheets write it: CRLF, LF or a lone CR end a record; blank lines are
 * skipped (a line holding only "" is a record of one empty field); a quote inside an unquoted
 * field is kept as a character (`5" screen`). Anything but a delimiter or a line end after a
 * closing quote is an error, since guessing there silently merges or splits columns.
 */
export class CsvParser {
  private state = FIELD_START;
  private field = '';
  private fields: string[] = [];
  /** The physical line being read, 1-based. */
  private lineNo = 1;
  private rowLine = 1;
  private quoteLine = 1;
  private rowHasContent = false;
  private lastWasCr = false;
  private readonly delimiterCode: number;

  constructor(
    private readonly file: string,
    delimiter = ',',
  ) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\r' || delimiter === '\n') {
      throw new RangeError(
        `a CSV delimiter is one character other than a quote or a line break, got ${JSON.stringify(delimiter)}`,
      );
    }
    this.delimiterCode = delimiter.charCodeAt(0);
  }

  /** The line the parser has reached, for errors that cannot name a record. */
  get line(): number {
    return this.lineNo;
  }

  /** Parses the next piece of text; returns the records it completed. */
  push(chunk: string): CsvRow[] {
    const rows: CsvRow[] = [];
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case FIELD_START: {
          if (chunk.charCodeAt(i) === 34) {
            this.markContent();
            this.quoteLine = this.lineNo;
            this.lastWasCr = false;
            this.state = QUOTED;
            i++;
          } else {
            this.state = UNQUOTED;
          }
          break;
        }
        case UNQUOTED: {
          let j = i;
          while (j < n) {
            const c = chunk.charCodeAt(j);
            if (c === this.delimiterCode || c === CR || c === LF) break;
            j++;
          }
          if (j > i) {
            this.markContent();
            this.field += chunk.slice(i, j);
            this.lastWasCr = false;
          }
          if (j === n) return rows;
          this.endField(chunk.charCodeAt(j), rows);
          i = j + 1;
          break;
        }
        case QUOTED: {
          const q = chunk.indexOf('"', i);
          const stop = q < 0 ? n : q;
          this.countLines(chunk, i, stop);
          this.field += chunk.slice(i, stop);
          if (q < 0) return rows;
          this.lastWasCr = false;
          this.state = AFTER_QUOTE;
          i = q + 1;
          break;
        }
        case AFTER_QUOTE: {
          const c = chunk.charCodeAt(i);
          if (c === 34) {
            this.field += '"';
            this.state = QUOTED;
            i++;
          } else if (c === this.delimiterCode || c === CR || c === LF) {
            this.endField(c, rows);
            i++;
          } else {
            const at = { file: this.file, line: this.lineNo };
            const column = this.fields.length;
            throw dataError(
              at,
              undefined,
              `column ${column}: unexpected ${JSON.stringify(chunk[i])} after a closing quote (write a quote inside a quoted field as "")`,
              column,
            );
          }
          break;
        }
      }
    }
    return rows;
  }

  /** Finishes the last record (a file need not end with a newline). */
  end(): CsvRow[] {
    if (this.state === QUOTED) {
      const column = this.fields.length;
      throw dataError(
        { file: this.file, line: this.quoteLine },
        undefined,
        `column ${column}: quoted field has no closing quote before the end of the file`,
        column,
      );
    }
    const rows: CsvRow[] = [];
    if (this.rowHasContent) this.endField(LF, rows);
    this.state = FIELD_START;
    return rows;
  }

  /** Ends the current field at `terminator`: a delimiter, or a line end that also ends the record. */
  private endField(terminator: number, rows: CsvRow[]): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = FIELD_START;
    if (terminator === this.delimiterCode) {
      this.markContent();
      this.lastWasCr = false;
      return;
    }
    // The LF of a CRLF: its record already ended at the CR, and it is not a new line.
    const crlf = terminator === LF && this.lastWasCr;
    if (this.rowHasContent) rows.push({ fields: this.fields, line: this.rowLine });
    this.fields = [];
    this.rowHasContent = false;
    if (!crlf) this.lineNo++;
    this.lastWasCr = terminator === CR;
  }

  private markContent(): void {
    if (!this.rowHasContent) {
      this.rowHasContent = true;
      this.rowLine = this.lineNo;
    }
  }

  /** Counts line ends inside a quoted field, CRLF as one, so later records keep true line numbers. */
  private countLines(text: string, from: number, to: number): void {
    for (let k = from; k < to; k++) {
      const c = text.charCodeAt(k);
      if (c === CR) {
        this.lineNo++;
        this.lastWasCr = true;
      } else {
        if (c === LF && !this.lastWasCr) this.lineNo++;
        this.lastWasCr = false;
      }
    }
  }
}
