import { describe, expect, it } from 'vitest';
import type { TextFormat, TextReadOptions } from './read-options.js';
import { type LocatedRecord, RecordDecoder } from './record-decoder.js';

function decode(format: TextFormat, text: string, options: TextReadOptions = {}, cut?: number): LocatedRecord[] {
  const decoder = new RecordDecoder('in.txt', format, options);
  const pieces = cut === undefined ? [text] : [text.slice(0, cut), text.slice(cut)];
  return [...pieces.flatMap((p) => decoder.push(p)), ...decoder.end()];
}

describe('RecordDecoder', () => {
  it('reads fastText lines, skipping blank ones and a byte-order mark', () => {
    const text = '\ufeff__label__a one two\n\n  \r\n__label__b three\r\n__label__c four';
    const expected = [
      { record: { text: 'one two', labels: ['a'] }, line: 1 },
      { record: { text: 'three', labels: ['b'] }, line: 4 },
      { record: { text: 'four', labels: ['c'] }, line: 5 },
    ];
    for (let cut = 0; cut <= text.length; cut++) expect(decode('fasttext', text, {}, cut), `cut at ${cut}`).toEqual(expected);
  });

  it('reads JSON lines with the default columns', () => {
    expect(decode('jsonl', '{"text":"a b","label":"x"}\n\n{"text":"c","label":["y","z"]}\n')).toEqual([
      { record: { text: 'a b', labels: ['x'] }, line: 1 },
      { record: { text: 'c', labels: ['y', 'z'] }, line: 3 },
    ]);
  });

  it('reads TSV and CSV by header, with the header row not a record', () => {
    expect(decode('tsv', 'label\ttext\npos\tgood "film"\n\nneg\tbad\n')).toEqual([
      { record: { text: 'good "film"', labels: ['pos'] }, line: 2 },
      { record: { text: 'bad', labels: ['neg'] }, line: 4 },
    ]);
    const csv = 'id,text,label\n1,"multi\nline, with comma",pos\n2,plain,neg\n';
    expect(decode('csv', csv)).toEqual([
      { record: { text: 'multi\nline, with comma', labels: ['pos'] }, line: 2 },
      { record: { text: 'plain', labels: ['neg'] }, line: 4 },
    ]);
  });

  it('reads CSV without a header by zero-based index', () => {
    expect(decode('csv', 'pos,great\nneg,awful\n', { header: false, columns: { text: 1, label: 0 } })).toEqual([
      { record: { text: 'great', labels: ['pos'] }, line: 1 },
      { record: { text: 'awful', labels: ['neg'] }, line: 2 },
    ]);
  });

  it('reports errors at the right line of the file', () => {
    expect(() => decode('fasttext', '__label__a x\n\nno label\n')).toThrow(/^in\.txt:3: no label/);
    expect(() => decode('csv', 'text,label\n"a\nb",x\nc\n')).toThrow(
      "in.txt:4: label column 'label' (index 1) is missing: the row has 1 field",
    );
  });
});
