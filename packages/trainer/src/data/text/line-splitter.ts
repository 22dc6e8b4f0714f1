/** One line of a line-based file, without its line end, and its 1-based number. */
export interface NumberedLine {
  readonly text: string;
  readonly line: number;
}

/**
 * Cuts text arriving in arbitrary pieces into lines. A line ends at LF; a CR before it is
 * dropped, so files written on Windows read the same. Only the unfinished tail is kept
 * between pieces, so memory is bounded by the longest line, not the file.
 */
export class LineSplitter {
  private rest = '';
  private lineNo = 0;

  /** The line being read, for errors that cannot name a record. */
  get line(): number {
    return this.lineNo + 1;
  }

  push(chunk: string): NumberedLine[] {
    const lines: NumberedLine[] = [];
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      this.rest += chunk;
      return lines;
    }
    let head = this.rest;
    this.rest = '';
    while (nl >= 0) {
      lines.push({ text: stripCr(head + chunk.slice(start, nl)), line: ++this.lineNo });
      head = '';
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    this.rest = chunk.slice(start);
    return lines;
  }

  /** The last line, when the file does not end with a newline. */
  end(): NumberedLine[] {
    if (this.rest === '') return [];
    const text = stripCr(this.rest);
    this.rest = '';
    return [{ text, line: ++this.lineNo }];
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
