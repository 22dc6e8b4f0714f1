import { describe, expect, it } from 'vitest';
import { FastTextDictionary } from './dictionary.js';
import { dictionaryFileText, parseDictionaryFileText } from './dictionary-file.js';
import { fastTextHash, forEachWordNgramBucket } from './hash.js';
import { DenseMatrix } from './matrix.js';
import { serializeFastTextModel } from './model-file.js';
import { parseFastTextModel } from './model-file-parse.js';
import { pruneInput, selectEmbeddings } from './prune.js';

const options = { labelPrefix: '__label__', minn: 0, maxn: 0, bucket: 4, wordNgrams: 2 };

describe('-cutoff (selectEmbeddings, Dictionary::prune)', () => {
  // Words a (0), </s> (1), b (2); labels x, y; then 4 buckets (rows 3..6).
  const dict = FastTextDictionary.restore(
    [
      { word: 'a', count: 5, type: 'word' },
      { word: '</s>', count: 4, type: 'word' },
      { word: 'b', count: 3, type: 'word' },
      { word: '__label__x', count: 2, type: 'label' },
      { word: '__label__y', count: 1, type: 'label' },
    ],
    9,
    -1,
    new Map(),
    options,
  );
  const norms = [3, 0.1, 1, 2, 5, 0.5, 4];
  const input = new DenseMatrix(7, 2, Float32Array.from(norms.flatMap((n) => [n, 0])));

  it('ranks rows by norm, largest first, </s> always first', () => {
    expect(selectEmbeddings(input, 1, 4)).toEqual([1, 4, 6, 0]);
    expect(selectEmbeddings(input, -1, 3)).toEqual([4, 6, 0]);
  });

  it('keeps the chosen words in order, every label, and maps the chosen buckets in rank order', () => {
    const cut = pruneInput(dict, input, 5);
    expect(cut).not.toBeNull();
    const { dict: d, rows, input: m } = cut as NonNullable<typeof cut>;
    // Chosen: </s>, bucket 1 (row 4), bucket 3 (row 6), a, bucket 0 (row 3).
    expect(d.entries.map((e) => e.word)).toEqual(['a', '</s>', '__label__x', '__label__y']);
    expect([d.nwords, d.nlabels, d.ntokens, d.pruneIndexSize]).toEqual([2, 2, 9, 3]);
    expect([...d.pruneIndex]).toEqual([
      [1, 0],
      [3, 1],
      [0, 2],
    ]);
    expect(rows).toEqual([0, 1, 4, 6, 3]);
    expect(Array.from(m.data.filter((_, i) => i % 2 === 0))).toEqual([3, 0.1, 5, 4, 2].map(Math.fround));
    expect(pruneInput(dict, input, 7)).toBeNull();
    expect(pruneInput(dict, input, 0)).toBeNull();
  });

  it('keeps no bucket when none is chosen: every n-gram is dropped (pruneidx_size 0)', () => {
    const small = new DenseMatrix(7, 2, Float32Array.from([3, 0.1, 9, 0.2, 0.2, 0.2, 0.2].flatMap((n) => [n, 0])));
    const { dict: d } = pruneInput(dict, small, 3) as NonNullable<ReturnType<typeof pruneInput>>;
    expect(d.pruneIndexSize).toBe(0);
    // b, a, </s>: their word rows, no bucket row.
    expect(d.line(['b', 'a', '</s>']).ids).toEqual([2, 0, 1]);
  });

  it("carries the pruning map through the dictionary's file text (the training run of -retrain reads it)", () => {
    const { dict: d } = pruneInput(dict, input, 5) as NonNullable<ReturnType<typeof pruneInput>>;
    const back = parseDictionaryFileText(dictionaryFileText(d), 'dictionary.txt', options);
    expect(back.dump()).toBe(d.dump());
    expect([back.pruneIndexSize, [...back.pruneIndex]]).toEqual([d.pruneIndexSize, [...d.pruneIndex]]);
    // Unpruned, the text is as before (no pruneidx line) and reads back unpruned.
    expect(dictionaryFileText(dict)).not.toMatch(/pruneidx/);
    expect(parseDictionaryFileText(dictionaryFileText(dict), 'dictionary.txt', options).pruneIndexSize).toBe(-1);
    // A line's word n-gram buckets go through the map, a bucket not kept is dropped: as fastText's pushHash.
    for (const words of [
      ['a', '</s>'],
      ['b', 'a', 'b', '</s>'],
      ['a', 'a', 'b', 'a', '</s>'],
    ]) {
      const buckets: number[] = [];
      forEachWordNgramBucket(words.map(fastTextHash), 2, 4, (b) => buckets.push(b));
      const wordRows = words.filter((w) => w !== 'b').map((w) => d.getId(w));
      const expected = [
        ...wordRows,
        ...buckets.filter((b) => d.pruneIndex.has(b)).map((b) => 2 + (d.pruneIndex.get(b) as number)),
      ];
      expect(back.line(words).ids).toEqual(expected);
      expect(d.line(words).ids).toEqual(expected);
    }
  });

  it('writes and reads back a pruned model with a dense input matrix (the model -retrain trains from)', () => {
    const { dict: d, input: m } = pruneInput(dict, input, 5) as NonNullable<ReturnType<typeof pruneInput>>;
    const args = {
      ...{ dim: 2, ws: 5, epoch: 5, minCount: 1, neg: 5, wordNgrams: 2, loss: 'softmax' as const, model: 'sup' as const },
      ...{ bucket: 4, minn: 0, maxn: 0, lrUpdateRate: 100, t: 1e-4 },
    };
    const output = new DenseMatrix(2, 2, Float32Array.of(1, 2, 3, 4));
    const chunks = [...serializeFastTextModel({ args, dict: d, input: m, output })];
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    const back = parseFastTextModel(bytes, 'pruned.bin');
    expect(back.quantInput).toBe(false);
    expect([back.input.rows, back.dict.nwords, back.dict.pruneIndexSize]).toEqual([5, 2, 3]);
    expect([...back.dict.pruneIndex]).toEqual([...d.pruneIndex]);
    expect(Array.from((back.input as DenseMatrix).data)).toEqual(Array.from(m.data));
  });
});
