import { describe, expect, it } from 'vitest';
import { FastTextDictionary } from './dictionary.js';
import { FastTextInference } from './inference.js';
import { DenseMatrix, type RowBlockMatrix } from './matrix.js';
import { FASTTEXT_MAGIC, fastTextModelHead, serializeFastTextModel } from './model-file.js';
import { fastTextMatrixOffset, parseFastTextModel } from './model-file-parse.js';

/** The chunks as drawn, each copied before the next is drawn (a streamed matrix reuses its buffer). */
const concat = (drawn: Iterable<Uint8Array>) => {
  const chunks = Array.from(drawn, (c) => c.slice());
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

function smallModel() {
  const args = {
    dim: 2,
    ws: 5,
    epoch: 5,
    minCount: 1,
    neg: 5,
    wordNgrams: 1,
    loss: 'softmax' as const,
    model: 'sup' as const,
    bucket: 3,
    minn: 0,
    maxn: 0,
    lrUpdateRate: 100,
    t: 1e-4,
  };
  const dict = FastTextDictionary.build(new TextEncoder().encode('__label__a up\n__label__b down\n'), {
    labelPrefix: '__label__',
    minn: 0,
    maxn: 0,
    bucket: 3,
    wordNgrams: 1,
    minCount: 1,
    minCountLabel: 0,
  });
  // words </s>, up, down (3) + 3 buckets; labels a, b.
  const input = new DenseMatrix(6, 2, Float32Array.from([0, 0, 1, 0, -1, 0, 0, 0, 0, 0, 0, 0]));
  const output = new DenseMatrix(2, 2, Float32Array.from([1, 0, -1, 0]));
  return { args, dict, input, output };
}

describe('fastText model files', () => {
  it('writes a .bin and reads it back, predicting the same', () => {
    const m = smallModel();
    const bytes = concat(serializeFastTextModel(m));
    const back = parseFastTextModel(bytes, 'm.bin');
    expect(back.args).toEqual(m.args);
    expect(back.dict.dump()).toBe(m.dict.dump());
    const inf = new FastTextInference(back.args, back.dict, back.input, back.output);
    const up = inf.predict(back.dict.line(['up', '</s>']).ids, 1, 0);
    expect(back.dict.label(up[0].label)).toBe('__label__a');
    const down = inf.predict(back.dict.line(['down', '</s>']).ids, -1, 0);
    expect(down.map((p) => back.dict.label(p.label))).toEqual(['__label__b', '__label__a']);
  });

  it('finds where the input matrix starts, and reads it in place where it lies 4-aligned', () => {
    const m = smallModel();
    const bytes = concat(serializeFastTextModel(m));
    const offset = fastTextMatrixOffset(bytes) ?? Number.NaN;
    expect(offset).toBe(fastTextModelHead(m.args, m.dict, false).length + 16);
    // The rows' bytes, and nothing before them, decide it: every shorter prefix is too short.
    expect(fastTextMatrixOffset(bytes.subarray(0, offset))).toBe(offset);
    expect(fastTextMatrixOffset(bytes.subarray(0, offset - 1))).toBeNull();
    expect(fastTextMatrixOffset(Uint8Array.of(1, 2, 3, 4))).toBeNull();
    for (let pad = 0; pad < 4; pad++) {
      const placed = new Uint8Array(new ArrayBuffer(bytes.length + pad), pad, bytes.length);
      placed.set(bytes);
      const input = parseFastTextModel(placed, 'm.bin').input as DenseMatrix;
      expect(input.data).toEqual(m.input.data);
      // A view of the bytes read, not a copy, where the rows are aligned.
      expect(input.data.buffer === placed.buffer).toBe((pad + offset) % 4 === 0);
    }
  });

  it('writes an input matrix given a block of rows at a time as the same bytes as the whole matrix', () => {
    const m = smallModel();
    // 40,000 rows: more than one block of the stream, the last one partial.
    const rows = 40_000;
    const data = Float32Array.from({ length: rows * 2 }, (_, i) => Math.sin(i));
    const whole = new DenseMatrix(rows, 2, data);
    const blocks: RowBlockMatrix = {
      rows,
      cols: 2,
      fillRows: (first, count, out) => out.set(data.subarray(2 * first, 2 * (first + count))),
      addRowToVector: (x, i, a) => whole.addRowToVector(x, i, a),
      dotRow: (x, i) => whole.dotRow(x, i),
    };
    const args = { ...m.args, bucket: rows - 3 };
    expect(concat(serializeFastTextModel({ ...m, args, input: blocks }))).toEqual(
      concat(serializeFastTextModel({ ...m, args, input: whole })),
    );
  });

  it('refuses a bad magic, an unknown version and a truncated file, naming the file', () => {
    const bytes = concat(serializeFastTextModel(smallModel()));
    const bad = bytes.slice();
    new DataView(bad.buffer).setInt32(0, 1234, true);
    expect(() => parseFastTextModel(bad, 'x.bin')).toThrow(/x\.bin: not a fastText model \(bad magic 1234/);
    const v = bytes.slice();
    new DataView(v.buffer).setInt32(4, 13, true);
    expect(() => parseFastTextModel(v, 'v.bin')).toThrow(/v\.bin: unsupported fastText model version 13/);
    expect(() => parseFastTextModel(bytes.subarray(0, bytes.length - 3), 't.bin')).toThrow(
      /t\.bin: truncated fastText model: output matrix/,
    );
    expect(() => parseFastTextModel(bytes.subarray(0, 30), 't.bin')).toThrow(/t\.bin: truncated fastText model: args/);
    expect(new DataView(bytes.buffer).getInt32(0, true)).toBe(FASTTEXT_MAGIC);
  });
});
