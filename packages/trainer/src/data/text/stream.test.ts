import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, type RowshardError } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type ReadRecordsOptions, readRecords } from './stream.js';

const dir = mkdtempSync(join(tmpdir(), 'rowshard-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(path: string, format: Parameters<typeof readRecords>[1], options: ReadRecordsOptions = {}) {
  const out = [];
  for await (const r of readRecords(path, format, options)) out.push(r);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<RowshardError> {
  try {
    await promise;
  } catch (e) {
    return e as RowshardError;
  }
  throw new Error('expected a rejection');
}

describe('readRecords', () => {
  it('decodes multi-byte UTF-8 cut by chunk boundaries at every position', async () => {
    const path = join(dir, 'unicode.txt');
    const lines = ['__label__fr café crème brûlée', '__label__ja 東京 です', '__label__emoji 😀 ok'];
    writeFileSync(path, `${lines.join('\n')}\n`);
    const expected = [
      { record: { text: 'café crème brûlée', labels: ['fr'] }, line: 1 },
      { record: { text: '東京 です', labels: ['ja'] }, line: 2 },
      { record: { text: '😀 ok', labels: ['emoji'] }, line: 3 },
    ];
    for (const chunkBytes of [1, 2, 3, 5, 7, 64 * 1024]) {
      expect(await collect(path, 'fasttext', { chunkBytes }), `chunkBytes ${chunkBytes}`).toEqual(expected);
    }
  });

  it('streams a CSV file whose quoted fields span chunks and lines', async () => {
    const path = join(dir, 'data.csv');
    const rows = Array.from({ length: 200 }, (_, i) => `${i},"line one of ${i}\nline ""two""",${i % 3}`);
    writeFileSync(path, `id,text,label\r\n${rows.join('\r\n')}\r\n`);
    const records = await collect(path, 'csv', { chunkBytes: 13 });
    expect(records).toHaveLength(200);
    expect(records[5]).toEqual({ record: { text: 'line one of 5\nline "two"', labels: ['2'] }, line: 12 });
  });

  it('stops reading when the consumer stops', async () => {
    const path = join(dir, 'many.jsonl');
    writeFileSync(path, Array.from({ length: 1000 }, (_, i) => JSON.stringify({ text: `t${i}`, label: 'x' })).join('\n'));
    const first = [];
    for await (const r of readRecords(path, 'jsonl', { chunkBytes: 100 })) {
      first.push(r.record.text);
      if (first.length === 3) break;
    }
    expect(first).toEqual(['t0', 't1', 't2']);
  });

  it('names the file when it is missing', async () => {
    const path = join(dir, 'nope.txt');
    const error = await rejection(collect(path, 'fasttext'));
    expect(error.code).toBe(ErrorCodes.BAD_DATA);
    expect(error.message).toBe(`${path}: cannot read the data file (no such file)`);
    expect(error.details).toMatchObject({ file: path });
  });

  it('rejects invalid UTF-8 naming the file and line', async () => {
    const path = join(dir, 'latin1.txt');
    writeFileSync(path, Buffer.concat([Buffer.from('__label__a ok\n__label__b caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const error = await rejection(collect(path, 'fasttext'));
    expect(error.code).toBe(ErrorCodes.BAD_DATA);
    expect(error.message).toMatch(/latin1\.txt:1: not valid UTF-8/);
    const small = await rejection(collect(path, 'fasttext', { chunkBytes: 4 }));
    expect(small.message).toMatch(/latin1\.txt:2: not valid UTF-8/);
    const cut = join(dir, 'cut.txt');
    writeFileSync(cut, Buffer.from('__label__a café').subarray(0, -1));
    expect((await rejection(collect(cut, 'fasttext'))).message).toBe(
      `${cut}:1: not valid UTF-8 (the file ends in the middle of a character)`,
    );
  });

  it('passes data errors through with file and line', async () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, '{"text":"a","label":"x"}\n{"text":"b"}\n');
    const error = await rejection(collect(path, 'jsonl'));
    expect(error.message).toBe(`${path}:2: label field 'label' is missing`);
  });
});
