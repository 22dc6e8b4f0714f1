import { ErrorCodes, type RowshardError } from '@rowshard/core';
import { thrown } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { resolveReadOptions } from './read-options.js';
import { parseFastTextLine, parseJsonlLine, recordFromFields, resolveColumns, splitTsvLine } from './readers.js';

const at = (line: number, file = 'train.txt') => ({ file, line });

describe('parseFastTextLine', () => {
  it('takes prefixed tokens anywhere as labels and joins the rest with single spaces', () => {
    expect(parseFastTextLine('__label__pos  great\tmovie __label__fun !', at(1))).toEqual({
      text: 'great movie !',
      labels: ['pos', 'fun'],
    });
    expect(parseFastTextLine('   ', at(1))).toBeUndefined();
  });

  it('honours a custom prefix and allowUnlabeled', () => {
    const options = resolveReadOptions('fasttext', { labelPrefix: '#', allowUnlabeled: true });
    expect(parseFastTextLine('#a text __label__b', at(1), options)).toEqual({ text: 'text __label__b', labels: ['a'] });
    expect(parseFastTextLine('just text', at(1), options)).toEqual({ text: 'just text', labels: [] });
  });

  it('rejects an unlabeled training line and an empty label, naming file:line', () => {
    const error = thrown<RowshardError>(() => parseFastTextLine('no label here', at(17)));
    expect(error.code).toBe(ErrorCodes.BAD_DATA);
    expect(error.message).toBe("train.txt:17: no label: a training line needs at least one '__label__…' token");
    expect(error.details).toMatchObject({ file: 'train.txt', line: 17, field: 'label' });
    expect(thrown<RowshardError>(() => parseFastTextLine('__label__ text', at(3))).message).toMatch(
      /^train\.txt:3: label '__label__' has no name/,
    );
  });
});

describe('parseJsonlLine', () => {
  const options = resolveReadOptions('jsonl', { columns: { text: ['title', 'body'], label: 'category' } });

  it('joins the text fields and accepts string, number and array labels', () => {
    expect(parseJsonlLine('{"title":"Hi","body":"there","category":"greet"}', at(1), options)).toEqual({
      text: 'Hi there',
      labels: ['greet'],
    });
    expect(parseJsonlLine('{"title":"a","body":"b","category":3}', at(1), options)?.labels).toEqual(['3']);
    expect(parseJsonlLine('{"title":"a","body":"b","category":["x",2]}', at(1), options)?.labels).toEqual(['x', '2']);
    expect(parseJsonlLine('  ', at(1), options)).toBeUndefined();
  });

  it('names file, line and field on bad records', () => {
    const missing = thrown<RowshardError>(() => parseJsonlLine('{"title":"a","body":"b"}', at(17), options));
    expect(missing.message).toBe("train.txt:17: label field 'category' is missing");
    expect(missing.details).toMatchObject({ file: 'train.txt', line: 17, field: 'category' });
    expect(thrown<RowshardError>(() => parseJsonlLine('{"title":"a","category":"x"}', at(2), options)).message).toBe(
      "train.txt:2: text field 'body' is missing",
    );
    expect(thrown<RowshardError>(() => parseJsonlLine('{"title":"a","body":5,"category":"x"}', at(2), options)).message).toBe(
      "train.txt:2: text field 'body' must be a string, got 5",
    );
    expect(
      thrown<RowshardError>(() => parseJsonlLine('{"title":"a","body":"b","category":{"k":1}}', at(4), options)).message,
    ).toBe("train.txt:4: label field 'category' must be a string, a number or an array of those, got an object");
    expect(
      thrown<RowshardError>(() => parseJsonlLine('{"title":"a","body":"b","category":["x",true]}', at(4), options)).message,
    ).toBe("train.txt:4: label field 'category'[1] must be a string, a number or an array of those, got true");
    expect(thrown<RowshardError>(() => parseJsonlLine('{"title":"a","body":"b","category":[]}', at(5), options)).message).toBe(
      "train.txt:5: label field 'category' is empty",
    );
    const bad = thrown<RowshardError>(() => parseJsonlLine('{"title": nope}', at(9), options));
    expect(bad.code).toBe(ErrorCodes.BAD_DATA);
    expect(bad.message).toMatch(/^train\.txt:9: invalid JSON \(/);
    expect(thrown<RowshardError>(() => parseJsonlLine('[1,2]', at(9), options)).message).toBe(
      'train.txt:9: expected a JSON object, got an array of 2',
    );
  });

  it('treats a missing or null label as unlabeled when allowed', () => {
    const lenient = resolveReadOptions('jsonl', { allowUnlabeled: true });
    expect(parseJsonlLine('{"text":"a"}', at(1), lenient)).toEqual({ text: 'a', labels: [] });
    expect(parseJsonlLine('{"text":"a","label":null}', at(1), lenient)).toEqual({ text: 'a', labels: [] });
  });
});

describe('CSV/TSV columns', () => {
  it('splits TSV on tabs only, with no quoting', () => {
    expect(splitTsvLine('a "b"\tc,d\t')).toEqual(['a "b"', 'c,d', '']);
  });

  it('maps header names and zero-based indices to cells', () => {
    const options = resolveReadOptions('csv', { columns: { text: ['title', 2], label: 'label' } });
    const columns = resolveColumns(options, ['id', 'title', 'body', 'label'], at(1, 'data.csv'));
    expect(recordFromFields(['7', 'Hi', 'there', 'greet'], columns, at(2, 'data.csv'), false)).toEqual({
      text: 'Hi there',
      labels: ['greet'],
    });
  });

  it('names file, line and column for a short row or an empty label', () => {
    const options = resolveReadOptions('tsv', { columns: { text: 'body', label: 'label' } });
    const columns = resolveColumns(options, ['label', 'body'], at(1, 'data.tsv'));
    const short = thrown<RowshardError>(() => recordFromFields(['pos'], columns, at(4, 'data.tsv'), false));
    expect(short.code).toBe(ErrorCodes.BAD_DATA);
    expect(short.message).toBe("data.tsv:4: text column 'body' (index 1) is missing: the row has 1 field");
    expect(short.details).toMatchObject({ file: 'data.tsv', line: 4, field: 'body', column: 1 });
    expect(thrown<RowshardError>(() => recordFromFields(['', 'x'], columns, at(5, 'data.tsv'), false)).message).toBe(
      "data.tsv:5: label column 'label' (index 0) is empty",
    );
    expect(recordFromFields(['', 'x'], columns, at(5, 'data.tsv'), true)).toEqual({ text: 'x', labels: [] });
    const byIndex = resolveColumns(
      resolveReadOptions('csv', { header: false, columns: { text: 3, label: 0 } }),
      undefined,
      at(0),
    );
    expect(thrown<RowshardError>(() => recordFromFields(['a', 'b'], byIndex, at(8, 'x.csv'), false)).message).toBe(
      'x.csv:8: text column 3 is missing: the row has 2 fields',
    );
  });

  it('names the header line for a column the header lacks or repeats', () => {
    const options = resolveReadOptions('csv', { columns: { text: 'body', label: 'label' } });
    const missing = thrown<RowshardError>(() => resolveColumns(options, ['text', 'label'], at(1, 'data.csv')));
    expect(missing.message).toBe("data.csv:1: text column 'body' is not in the header (found: 'text', 'label')");
    expect(missing.details).toMatchObject({ file: 'data.csv', line: 1, field: 'body' });
    expect(thrown<RowshardError>(() => resolveColumns(options, ['body', 'label', 'body'], at(1, 'data.csv'))).message).toBe(
      "data.csv:1: text column 'body' appears twice in the header",
    );
  });
});

describe('resolveReadOptions', () => {
  it('rejects bad options up front, naming the field', () => {
    expect(() => resolveReadOptions('jsonl', { columns: { text: 1, label: 'l' } })).toThrow(/columns\.text: JSON lines name/);
    expect(() => resolveReadOptions('csv', { header: false, columns: { text: 'a', label: 1 } })).toThrow(
      /columns\.text: .*header is false/,
    );
    expect(() => resolveReadOptions('csv', { columns: { text: [], label: 1 } })).toThrow(/columns\.text: must name at least one/);
    expect(() => resolveReadOptions('fasttext', { labelPrefix: '' })).toThrow(/labelPrefix/);
    expect(() => resolveReadOptions('fasttext', { lablePrefix: 'x' } as never)).toThrow(/lablePrefix: unknown field/);
    expect(() => resolveReadOptions('xml' as never)).toThrow(/format: must be one of/);
  });
});
