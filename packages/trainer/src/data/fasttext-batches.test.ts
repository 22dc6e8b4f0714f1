import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dictionaryFileText,
  encodeExamples,
  FastTextDictionary,
  type FileDataSpec,
  parseDataSpec,
  parseDictionaryFileText,
} from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildFastTextDictionary,
  builtExamples,
  dictionaryOptions,
  FastTextBatches,
  fastTextExamples,
} from './fasttext-batches.js';
import { shuffled } from './text/shuffle.js';

const dir = mkdtempSync(join(tmpdir(), 'rowshard-ftbatches-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A corpus of `lines` labelled lines and the spec a dictionary pass would give it. */
function corpus(lines: number): FileDataSpec {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta'];
  const text = Array.from(
    { length: lines },
    (_, i) => `__label__${i % 3} ${Array.from({ length: 2 + (i % 5) }, (_, j) => words[(i * 7 + j * 3) % 7]).join(' ')}\n`,
  ).join('');
  const path = join(dir, `c${lines}.txt`);
  writeFileSync(path, text);
  const spec = parseDataSpec(
    { kind: 'file', path, format: 'fasttext', wordNgrams: 2, buckets: 1000, shuffleBuffer: 16, seed: 3 },
    'data',
  ) as FileDataSpec;
  const vocabFile = join(dir, `c${lines}.vocab`);
  writeFileSync(vocabFile, dictionaryFileText(FastTextDictionary.build(Buffer.from(text), dictionaryOptions(spec))), 'latin1');
  return { ...spec, vocabFile, examples: lines };
}

describe('FastTextBatches', () => {
  it('reads the examples file of the dictionary pass instead of the text, the same batches', async () => {
    const spec = corpus(30);
    const want = [];
    for (let step = 0; step < 8; step++) want.push(await new FastTextBatches(spec, 8).slice(step, 0, 8));
    const dict = parseDictionaryFileText(readFileSync(spec.vocabFile as string, 'latin1'), 'v', dictionaryOptions(spec));
    const examples = [];
    for await (const e of fastTextExamples(spec.path, dict)) examples.push(e);
    const examplesFile = join(dir, 'c30.i32');
    writeFileSync(examplesFile, encodeExamples(examples));
    rmSync(spec.path);
    const fromFile = new FastTextBatches({ ...spec, examplesFile }, 8);
    for (let step = 0; step < 8; step++) {
      const got = await fromFile.slice(step, 0, 8);
      expect(Array.from(got.inputs[0].data)).toEqual(Array.from(want[step].inputs[0].data));
      expect(Array.from(got.target)).toEqual(Array.from(want[step].target));
    }
    // Another job's file is refused at once, naming it.
    expect(() => new FastTextBatches({ ...spec, examples: 31, examplesFile }, 8)).toThrow(
      /c30\.i32: .*30 examples, the job counted 31/,
    );
  });
});

describe('FastTextBatches, read a chunk at a time', () => {
  it("gives each step the examples of the passes' shuffled order, from the text or the examples file", async () => {
    // About 200 KB: several of the file stream's 64 KiB reads, lines across their ends; lines
    // with two or three labels (one picked per visit), and lines without one (skipped).
    const words = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta', 'theta'];
    const lines = 5000;
    const text = Array.from({ length: lines }, (_, i) =>
      i % 11 === 5
        ? 'no label here\n'
        : `__label__${i % 3}${i % 4 === 0 ? ' __label__x' : ''}${i % 8 === 0 ? ' __label__y' : ''} ${Array.from({ length: 2 + (i % 9) }, (_, j) => words[(i * 7 + j * 3) % 8]).join(' ')}\n`,
    ).join('');
    const path = join(dir, 'chunks.txt');
    writeFileSync(path, text);
    expect(text.length).toBeGreaterThan(2 * 65536);
    const base = parseDataSpec(
      { kind: 'file', path, format: 'fasttext', wordNgrams: 2, buckets: 1000, seed: 3 },
      'data',
    ) as FileDataSpec;
    const dict = FastTextDictionary.build(Buffer.from(text), dictionaryOptions(base));
    const vocabFile = join(dir, 'chunks.vocab');
    writeFileSync(vocabFile, dictionaryFileText(dict), 'latin1');
    const examples = [];
    for await (const e of fastTextExamples(path, dict)) examples.push(e);
    const n = examples.length;
    expect(n).toBe(lines - Math.ceil((lines - 5) / 11));
    const examplesFile = join(dir, 'chunks.i32');
    writeFileSync(examplesFile, encodeExamples(examples));
    async function* inOrder() {
      yield* examples;
    }
    const batch = 64;
    for (const shuffleBuffer of [100, 0]) {
      // What a pass is: the examples, one at a time, through `shuffled` with the pass's seed.
      const passes = [];
      for (let pass = 0; pass < 3; pass++)
        passes.push(shuffleBuffer > 0 ? await all(shuffled(inOrder(), shuffleBuffer, base.seed + pass)) : examples);
      const want = (step: number, start: number, end: number) => {
        const ids: number[] = [];
        const offsets: number[] = [];
        const target: number[] = [];
        for (let i = start; i < end; i++) {
          const g = step * batch + i;
          const e = passes[Math.floor(g / n)][g % n];
          offsets.push(ids.length);
          ids.push(...e.ids);
          target.push(e.labels[(Math.imul(g, 2654435761) >>> 0) % e.labels.length]);
        }
        return { ids, offsets, target };
      };
      const spec = { ...base, shuffleBuffer, vocabFile, examples: n };
      for (const source of [spec, { ...spec, examplesFile }]) {
        const batches = new FastTextBatches(source, batch);
        // Steps across two pass ends, a worker's slice of each, then back to the start (a recovery).
        for (const step of [0, 1, 2, 70, 71, 141, 142, 143, 3, 0]) {
          for (const [start, end] of [
            [0, 32],
            [32, 64],
          ]) {
            const got = await batches.slice(step, start, end);
            const { ids, offsets, target } = want(step, start, end);
            expect(Array.from(got.inputs[0].data)).toEqual(ids);
            expect(Array.from(got.offsets?.[0] ?? [])).toEqual(offsets);
            expect(Array.from(got.target)).toEqual(target);
          }
        }
      }
    }
  });

  it('says where a file ends before the examples the dictionary pass counted', async () => {
    const spec = corpus(40);
    const batches = new FastTextBatches({ ...spec, examples: 50 }, 64);
    await expect(batches.slice(0, 0, 64)).rejects.toThrow(/c40\.txt: ended after 40 examples; the dictionary pass counted 50/);
  });
});

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

describe('builtExamples', () => {
  it('gives the lines a second pass over the file gives, skipped ones counted alike', async () => {
    // Empty lines, a line of a label alone, one without a label, two labels, \r\t\v\f\0 as
    // spaces, bytes past 0x7f, words under minCount (unknown: their n-grams only), and a
    // last line without \n.
    const text = Buffer.concat([
      Buffer.from('__label__a the cat sat\n\n__label__b\nno label here\n__label__a __label__b the\tcat\r\n'),
      Buffer.from('__label__c \x0bthe\x0cdog\x00ran  far\n'),
      Buffer.from([
        0x5f, 0x5f, 0x6c, 0x61, 0x62, 0x65, 0x6c, 0x5f, 0x5f, 0x62, 0x20, 0xc3, 0xa9, 0x74, 0xc3, 0xa9, 0x20, 0xff, 0x0a,
      ]),
      Buffer.from('__label__a rare1 the cat the cat\n__label__b dog ran the end'),
    ]);
    const path = join(dir, 'edges.txt');
    // The same lines, then spaces after the last \n: a last line of no word, skipped by both.
    const trailing = join(dir, 'edges-trailing.txt');
    writeFileSync(trailing, Buffer.concat([text, Buffer.from('\n \t')]));
    writeFileSync(path, text);
    for (const [file, options] of [
      [path, { wordNgrams: 2, minCount: 1, minn: 0, maxn: 0 }],
      [path, { wordNgrams: 3, minCount: 2, minn: 2, maxn: 4 }],
      [path, { wordNgrams: 1, minCount: 2, minn: 0, maxn: 0 }],
      [trailing, { wordNgrams: 2, minCount: 1, minn: 0, maxn: 0 }],
    ] as const) {
      const spec = parseDataSpec(
        { kind: 'file', path: file, format: 'fasttext', features: 'fasttext', buckets: 997, ...options },
        'data',
      ) as FileDataSpec;
      const dict = buildFastTextDictionary(spec, 1 << 20);
      const skippedByFile = { count: 0 };
      const byFile = [];
      for await (const e of fastTextExamples(file, dict, skippedByFile)) byFile.push(e);
      const skippedByTokens = { count: 0 };
      const byTokens = [...(builtExamples(dict, skippedByTokens) ?? [])];
      expect(byTokens).toEqual(byFile);
      expect(skippedByTokens.count).toBe(skippedByFile.count);
      expect(byFile.length).toBeGreaterThan(3);
      // Nothing is kept unless asked, nor past the tokens asked for (the file has 39; it is read again).
      expect(builtExamples(buildFastTextDictionary(spec))).toBeNull();
      expect(builtExamples(buildFastTextDictionary(spec, 20))).toBeNull();
      expect([...(builtExamples(buildFastTextDictionary(spec, 1024)) ?? [])]).toEqual(byFile);
      dict.dropKeptText();
      expect(builtExamples(dict)).toBeNull();
    }
  });

  it('ends an example at the word </s> written out, as fastText does; such a corpus is read by line, not kept', async () => {
    const path = join(dir, 'literal-eos.txt');
    writeFileSync(path, '__label__a x </s> __label__b y\n__label__a z </s>\n');
    const spec = parseDataSpec({ kind: 'file', path, format: 'fasttext', features: 'fasttext' }, 'data') as FileDataSpec;
    const dict = buildFastTextDictionary(spec, 1 << 20);
    // The kept tokens cannot tell that </s> from a line's end, which the examples' line numbers need.
    expect(builtExamples(dict)).toBeNull();
    const skipped = { count: 0 };
    const examples = [];
    for await (const e of fastTextExamples(path, dict, skipped)) examples.push(e);
    const row = (w: string) => dict.getId(w);
    const label = (l: string) => dict.getId(`__label__${l}`) - dict.nwords;
    // Three of fastText's lines with a label, each ended by </s>; the fourth (the \n after a
    // written </s>) has none and is skipped, as fastText skips it.
    expect(examples).toEqual([
      { ids: [row('x'), row('</s>')], labels: [label('a')], line: 1 },
      { ids: [row('y'), row('</s>')], labels: [label('b')], line: 1 },
      { ids: [row('z'), row('</s>')], labels: [label('a')], line: 2 },
    ]);
    expect(skipped.count).toBe(1);
  });
});
