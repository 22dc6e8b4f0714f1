import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDataSpec } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { CtrFileBatches } from './ctr-file.js';

const dir = mkdtempSync(join(tmpdir(), 'rowshard-ctr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
type Spec = Extract<ReturnType<typeof parseDataSpec>, { kind: 'ctr_file' }>;
const spec = (o: Record<string, unknown>) => parseDataSpec({ kind: 'ctr_file', ...o }) as Spec;

describe('Criteo TSV', () => {
  it('reads label, log(1 + x) integers and hex ids (64-bit, empty = 0), batches wrapping at the end', () => {
    const path = file('a.tsv', '1\t3\t\t68fd1e64\t\n0\t-1\t7\tffffffffffffffff\t0a\n');
    const b = new CtrFileBatches(spec({ path, numDense: 2, numCategorical: 2 }), 3);
    expect(b.count).toBe(2);
    const batch = b.slice(0, 0, 3);
    expect([...batch.target]).toEqual([1, 0, 1]);
    expect([...(batch.values?.[0].data ?? [])]).toEqual([
      Math.fround(Math.log1p(3)),
      0,
      0,
      Math.fround(Math.log1p(7)),
      Math.fround(Math.log1p(3)),
      0,
    ]);
    expect([...(batch.inputs[0].data as BigUint64Array)]).toEqual([0x68fd1e64n, 2n ** 64n - 1n, 0x68fd1e64n]);
    expect([...(batch.inputs[1].data as BigUint64Array)]).toEqual([0n, 10n, 0n]);
  });

  it('names the file, line and column of a bad field', () => {
    const path = file('b.tsv', '1\t3\tab\n1\tx\tab\n');
    expect(() => new CtrFileBatches(spec({ path, numDense: 1, numCategorical: 1 }), 2)).toThrow(
      `${path}:2: I1 (column 2): expected an integer`,
    );
    const short = file('c.tsv', '1\t3\n');
    expect(() => new CtrFileBatches(spec({ path: short, numDense: 1, numCategorical: 1 }), 2)).toThrow(
      `${short}:1: columns: 2 tab-separated columns`,
    );
    const hex = file('d.tsv', '0\t1\tzz\n');
    expect(() => new CtrFileBatches(spec({ path: hex, numDense: 1, numCategorical: 1 }), 2)).toThrow(`${hex}:1: C1 (column 3)`);
    const label = file('e.tsv', '2\t1\tab\n');
    expect(() => new CtrFileBatches(spec({ path: label, numDense: 1, numCategorical: 1 }), 2)).toThrow(
      /e\.tsv:1: label \(column 1\): a label must be 0 or 1/,
    );
  });
});

describe('JSONL with named features', () => {
  const fields = { label: 'click', dense: ['price'], categorical: ['user', 'item'] };

  it('reads numbers and ids: integers as themselves, 64-bit decimal strings exactly, other strings hashed', () => {
    const path = file(
      'a.jsonl',
      '{"click": 1, "price": 2.5, "user": 42, "item": "18446744073709551615"}\n{"click": false, "price": null, "user": "alice", "item": null}\n',
    );
    const b = new CtrFileBatches(spec({ path, format: 'jsonl', fields }), 2).slice(0, 0, 2);
    expect([...b.target]).toEqual([1, 0]);
    expect([...(b.values?.[0].data ?? [])]).toEqual([2.5, 0]);
    const users = b.inputs[0].data as BigUint64Array;
    expect(users[0]).toBe(42n);
    expect(users[1]).not.toBe(0n);
    expect((b.inputs[1].data as BigUint64Array)[0]).toBe(2n ** 64n - 1n);
    // The same string hashes the same in every process.
    const again = new CtrFileBatches(spec({ path, format: 'jsonl', fields }), 2).slice(0, 1, 2);
    expect((again.inputs[0].data as BigUint64Array)[0]).toBe(users[1]);
  });

  it('names the file, line and field of a bad value, and checks the spec', () => {
    const path = file(
      'b.jsonl',
      '{"click": 1, "price": 1, "user": 1, "item": 2}\n{"click": 1, "price": "cheap", "user": 1, "item": 2}\n',
    );
    expect(() => new CtrFileBatches(spec({ path, format: 'jsonl', fields }), 2)).toThrow(
      `${path}:2: price: expected a finite number or null`,
    );
    const broken = file('c.jsonl', '{"click": 1,\n');
    expect(() => new CtrFileBatches(spec({ path: broken, format: 'jsonl', fields }), 2)).toThrow(`${broken}:1: line: not JSON`);
    const neg = file('d.jsonl', '{"click": 1, "price": 1, "user": -3, "item": 2}\n');
    expect(() => new CtrFileBatches(spec({ path: neg, format: 'jsonl', fields }), 2)).toThrow(
      `${neg}:1: user: a numeric id must be`,
    );
    expect(() => spec({ path, format: 'jsonl' })).toThrow(/data\.fields/);
    expect(() => spec({ path, format: 'jsonl', fields, numCategorical: 3 })).toThrow(
      /data\.numCategorical: is 3, but fields lists 2/,
    );
    expect(() => spec({ path, fields })).toThrow(/data\.fields: is for jsonl data/);
  });
});
