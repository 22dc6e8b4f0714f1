import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DenseMatrix, ErrorCodes, FastTextDictionary, fastTextMatrixOffset, serializeFastTextModel } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { FileRowsMatrix } from './file-rows-matrix.js';
import { loadNativeModel, openNativeModel } from './native-model.js';

const dir = mkdtempSync(join(tmpdir(), 'rowshard-native-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dim = 5;
const buckets = 300;
const corpus = Buffer.from('__label__a x y z x\n__label__b y w v\n__label__a z z x w héllo\n__label__c v v\n', 'latin1');
const dict = FastTextDictionary.build(corpus, {
  labelPrefix: '__label__',
  minn: 2,
  maxn: 3,
  bucket: buckets,
  wordNgrams: 2,
  minCount: 1,
  minCountLabel: 0,
});
const args = {
  dim,
  ws: 5,
  epoch: 1,
  minCount: 1,
  neg: 5,
  wordNgrams: 2,
  loss: 'softmax' as const,
  model: 'sup' as const,
  bucket: buckets,
  minn: 2,
  maxn: 3,
  lrUpdateRate: 100,
  t: 1e-4,
};
const rows = dict.nwords + buckets;
const input = new DenseMatrix(
  rows,
  dim,
  Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i * 0.37)),
);
const output = new DenseMatrix(
  dict.nlabels,
  dim,
  Float32Array.from({ length: dict.nlabels * dim }, (_, i) => Math.cos(i)),
);
const bytes = Buffer.concat(Array.from(serializeFastTextModel({ args, dict, input, output }), (c) => Buffer.from(c)));
const modelPath = join(dir, 'model.bin');
writeFileSync(modelPath, bytes);

describe('openNativeModel', () => {
  it('predicts and gives vectors as the model read whole does, reading rows from the file as asked', () => {
    const whole = loadNativeModel(modelPath);
    const opened = openNativeModel(modelPath);
    try {
      expect(opened.file.input).toBeInstanceOf(FileRowsMatrix);
      expect(opened.dict.dump()).toBe(whole.dict.dump());
      for (const line of [['x', 'y', '</s>'], ['héllo', 'unseen', 'w', '</s>'], ['</s>']]) {
        const ids = opened.dict.line(line).ids;
        expect(opened.model.predict(ids, -1, 0)).toEqual(whole.model.predict(ids, -1, 0));
        expect(opened.model.sentenceVector(line)).toEqual(whole.model.sentenceVector(line));
      }
      for (const word of ['x', 'héllo', 'unseen']) expect(opened.model.wordVector(word)).toEqual(whole.model.wordVector(word));
    } finally {
      opened.close();
    }
  });

  it('refuses a file cut inside its rows or its output matrix, naming it', () => {
    const offset = fastTextMatrixOffset(bytes) ?? Number.NaN;
    for (const length of [offset + 12, bytes.length - 3]) {
      const cut = join(dir, `cut-${length}.bin`);
      writeFileSync(cut, bytes);
      truncateSync(cut, length);
      expect(() => openNativeModel(cut)).toThrow(
        expect.objectContaining({ code: ErrorCodes.BAD_DATA, message: expect.stringContaining(cut) }),
      );
    }
  });
});

describe('FileRowsMatrix', () => {
  it('keeps the rows it read in one growing buffer, then reads the whole matrix past its limit', () => {
    const n = 3000;
    const matrix = new DenseMatrix(
      n,
      dim,
      Float32Array.from({ length: n * dim }, (_, i) => Math.sin(i * 1.7)),
    );
    const path = join(dir, 'rows.f32');
    writeFileSync(path, Buffer.concat([Buffer.from('pad'), Buffer.from(matrix.data.buffer)]));
    const fd = openSync(path, 'r');
    try {
      const m = new FileRowsMatrix(fd, 3, n, dim, path, 2500);
      const x = Float32Array.from({ length: dim }, (_, j) => 1 - j);
      // 2500 distinct rows (the buffer grows past 1024 and 2048), each asked twice, then the rest.
      const order = Array.from({ length: n }, (_, i) => (i * 1237) % n);
      for (const i of [...order.slice(0, 2500), ...order.slice(0, 2500), ...order.slice(2500)])
        expect(m.dotRow(x, i)).toBe(matrix.dotRow(x, i));
    } finally {
      closeSync(fd);
    }
  });

  it('reads rows one by one, then the whole matrix once past its limit, with the same arithmetic', () => {
    const offset = fastTextMatrixOffset(bytes) ?? Number.NaN;
    const fd = openSync(modelPath, 'r');
    try {
      const m = new FileRowsMatrix(fd, offset, rows, dim, modelPath, 3);
      const x = Float32Array.from({ length: dim }, (_, j) => j - 2);
      for (const i of [0, 7, rows - 1, 7, 42, 100, 5]) {
        const got = x.slice();
        const want = x.slice();
        m.addRowToVector(got, i, 0.3);
        input.addRowToVector(want, i, 0.3);
        expect(got).toEqual(want);
        expect(m.dotRow(x, i)).toBe(input.dotRow(x, i));
      }
      expect(() => m.dotRow(x, rows)).toThrow(RangeError);
    } finally {
      closeSync(fd);
    }
  });
});
