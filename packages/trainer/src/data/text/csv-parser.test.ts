import { ErrorCodes, type RowshardError } from '@rowshard/core';
import { thrown } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { CsvParser, type CsvRow } from './csv-parser.js';

function parse(text: string, pieces: number[] = []): CsvRow[] {
  const parser = new CsvParser('data.csv');
  const rows: CsvRow[] = [];
  let start = 0;
  for (const cut of pieces) {
    rows.push(...parser.push(text.slice(start, cut)));
    start = cut;
  }
  rows.push(...parser.push(text.slice(start)));
  rows.push(...parser.end());
  return rows;
}

const SAMPLE =
  'text,label\r\n' +
  '"Hello, ""world""",greet\r\n' +
  '"two\nlines",multi\n' +
  '\n' +
  'plain,"x"\r\n' +
  'a,,\n' +
  '""\n' +
  '5" screen,tv';

const EXPECTED = [
  { fields: ['text', 'label'], line: 1 },
  { fields: ['Hello, "world"', 'greet'], line: 2 },
  { fields: ['two\nlines', 'multi'], line: 3 },
  { fields: ['plain', 'x'], line: 6 },
  { fields: ['a', '', ''], line: 7 },
  { fields: [''], line: 8 },
  { fields: ['5" screen', 'tv'], line: 9 },
];

describe('CsvParser', () => {
  it('parses quotes, doubled quotes, delimiters and newlines in quotes, CRLF and blank lines', () => {
    expect(parse(SAMPLE)).toEqual(EXPECTED);
  });

  it('gives the same rows however the text is cut into pieces', () => {
    for (let cut = 0; cut <= SAMPLE.length; cut++) expect(parse(SAMPLE, [cut]), `cut at ${cut}`).toEqual(EXPECTED);
    const everyChar = Array.from({ length: SAMPLE.length }, (_, i) => i);
    expect(parse(SAMPLE, everyChar)).toEqual(EXPECTED);
  });

  it('treats a lone CR as a line end, and a quoted CRLF as data on one extra line', () => {
    expect(parse('a,b\rc,d\r')).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['c', 'd'], line: 2 },
    ]);
    expect(parse('"x\r\ny",1\r\nz,2')).toEqual([
      { fields: ['x\r\ny', '1'], line: 1 },
      { fields: ['z', '2'], line: 3 },
    ]);
  });

  it('names file, line and column for text after a closing quote', () => {
    const error = thrown<RowshardError>(() => parse('a,b\nc,"d"e\n'));
    expect(error.code).toBe(ErrorCodes.BAD_DATA);
    expect(error.message).toBe(
      'data.csv:2: column 1: unexpected "e" after a closing quote (write a quote inside a quoted field as "")',
    );
    expect(error.details).toMatchObject({ file: 'data.csv', line: 2, column: 1 });
  });

  it('names the line where an unclosed quoted field starts', () => {
    const error = thrown<RowshardError>(() => parse('a,b\nc,"d\ne\nf'));
    expect(error.message).toBe('data.csv:2: column 1: quoted field has no closing quote before the end of the file');
    expect(error.details).toMatchObject({ file: 'data.csv', line: 2, column: 1 });
  });
});
