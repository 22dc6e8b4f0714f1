import { describe, expect, it } from 'vitest';
import { decodeExamples, encodeExamples, type TokenizedExample } from './examples-file.js';

const examples: TokenizedExample[] = [
  { ids: [0, 5, 9], labels: [1], line: 1 },
  { ids: [3], labels: [0, 2], line: 3 },
];
const expect3 = { examples: 2, rows: 10, labels: 3 };

describe('examples files', () => {
  it('reads back what it wrote', () => {
    const read = decodeExamples(encodeExamples(examples), 'e.i32', expect3);
    // Views of the file's ints, not arrays.
    expect(read.every((e) => e.ids instanceof Int32Array && e.labels instanceof Int32Array)).toBe(true);
    expect(read.map((e) => ({ ids: [...e.ids], labels: [...e.labels], line: e.line }))).toEqual(examples);
  });

  it('refuses another job’s file, a truncated one and rows or labels out of range, naming the file', () => {
    const bytes = encodeExamples(examples);
    expect(() => decodeExamples(bytes, 'e.i32', { ...expect3, examples: 3 })).toThrow(/e\.i32: .*2 examples, the job counted 3/);
    expect(() => decodeExamples(bytes.subarray(0, bytes.length - 4), 'e.i32', expect3)).toThrow(/e\.i32: .*malformed/);
    expect(() => decodeExamples(bytes, 'e.i32', { ...expect3, rows: 9 })).toThrow(/row outside 0 \.\. 8/);
    expect(() => decodeExamples(bytes, 'e.i32', { ...expect3, labels: 2 })).toThrow(/label outside 0 \.\. 1/);
    expect(() => decodeExamples(new Uint8Array(16), 'x.i32', expect3)).toThrow(/x\.i32: .*bad magic/);
    expect(() => decodeExamples(new Uint8Array(5), 'x.i32', expect3)).toThrow(/5 bytes/);
  });
});
