import { CsvParser } from './csv-parser.js';
import { LineSplitter } from './line-splitter.js';
import { type ResolvedReadOptions, resolveReadOptions, type TextFormat, type TextReadOptions } from './read-options.js';
import {
  parseFastTextLine,
  parseJsonlLine,
  type ResolvedColumns,
  recordFromFields,
  resolveColumns,
  splitTsvLine,
  type TextRecord,
} from './readers.js';

/** A record and the (first) line of the file it came from. */
export interface LocatedRecord {
  readonly record: TextRecord;
  readonly line: number;
}

/**
 * Turns the text of a file, pushed in arbitrary pieces, into records: the part of reading that
 * needs no file, so it is tested on strings cut at every position and the file reader stays a
 * thin loop. Blank lines are skipped in every format.
 */
export class RecordDecoder {
  private readonly options: ResolvedReadOptions;
  private readonly lines: LineSplitter | undefined;
  private readonly csv: CsvParser | undefined;
  private columns: ResolvedColumns | undefined;
  private started = false;

  constructor(
    private readonly file: string,
    format: TextFormat,
    options: TextReadOptions = {},
  ) {
    this.options = resolveReadOptions(format, options);
    if (format === 'csv') this.csv = new CsvParser(file);
    else this.lines = new LineSplitter();
    if ((format === 'csv' || format === 'tsv') && !this.options.header) {
      this.columns = resolveColumns(this.options, undefined, { file, line: 0 });
    }
  }

  /** The line being read, for errors about bytes rather than records (bad UTF-8). */
  get line(): number {
    return this.csv ? this.csv.line : this.lines!.line;
  }

  push(chunk: string): LocatedRecord[] {
    if (!this.started && chunk !== '') {
      this.started = true;
      // A byte-order mark would otherwise glue itself to the first label or header name.
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    return this.csv ? this.fromRows(this.csv.push(chunk)) : this.fromLines(this.lines!.push(chunk));
  }

  end(): LocatedRecord[] {
    return this.csv ? this.fromRows(this.csv.end()) : this.fromLines(this.lines!.end());
  }

  private fromLines(lines: readonly { text: string; line: number }[]): LocatedRecord[] {
    const out: LocatedRecord[] = [];
    const o = this.options;
    for (const { text, line } of lines) {
      const at = { file: this.file, line };
      let record: TextRecord | undefined;
      if (o.format === 'fasttext') {
        record = parseFastTextLine(text, at, o);
      } else if (o.format === 'jsonl') {
        record = parseJsonlLine(text, at, o);
      } else {
        if (text.trim() === '') continue;
        record = this.fromFields(splitTsvLine(text), line);
      }
      if (record) out.push({ record, line });
    }
    return out;
  }

  private fromRows(rows: readonly { fields: string[]; line: number }[]): LocatedRecord[] {
    const out: LocatedRecord[] = [];
    for (const { fields, line } of rows) {
      const record = this.fromFields(fields, line);
      if (record) out.push({ record, line });
    }
    return out;
  }

  /** Undefined for the header row, which only fixes where the columns are. */
  private fromFields(fields: readonly string[], line: number): TextRecord | undefined {
    const at = { file: this.file, line };
    if (!this.columns) {
      this.columns = resolveColumns(this.options, fields, at);
      return undefined;
    }
    return recordFromFields(fields, this.columns, at, this.options.allowUnlabeled);
  }
}
