import { describe, expect, it } from 'vitest';
import { FastTextDictionary } from './dictionary.js';
import { linesOfBytes } from './dictionary-lines.js';
import { fastTextHash } from './hash.js';
import { EOS, splitByteLineChunks, splitByteLines, streamWords, utf8Word, WordReader } from './tokens.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const options = { labelPrefix: '__label__', minn: 0, maxn: 0, bucket: 100, wordNgrams: 1, minCount: 1, minCountLabel: 0 };

describe("fastText's tokeniser", () => {
  it('splits on its six whitespace bytes and NUL, ends each line with </s>, keeps case', () => {
    const r = new WordReader(bytes('The  cat\tSat\r\n\nlast\vword\0end'));
    const words: string[] = [];
    for (let w = r.readWord(); w !== null; w = r.readWord()) words.push(w);
    expect(words).toEqual(['The', 'cat', 'Sat', EOS, EOS, 'last', 'word', 'end']);
  });

  it('reads lines as getLine does, and words as cin >> word', () => {
    const r = new WordReader(bytes('a b\nc'));
    expect(r.readLine()).toEqual(['a', 'b', EOS]);
    expect(r.readLine()).toEqual(['c']);
    expect(r.readLine()).toBeNull();
    expect(streamWords(bytes(' x\ty\n z '))).toEqual(['x', 'y', 'z']);
  });

  it('splits a stream into lines of bytes whatever its chunks, each with its \\n', async () => {
    async function* chunks(...parts: string[]) {
      for (const p of parts) yield bytes(p);
    }
    const lines = async (...parts: string[]) => {
      const out: string[] = [];
      for await (const line of splitByteLines(chunks(...parts))) out.push(Buffer.from(line).toString('latin1'));
      return out;
    };
    expect(await lines('a b\nc', 'd\n\ne', '', 'f')).toEqual(['a b\n', 'cd\n', '\n', 'ef']);
    expect(await lines('x\n')).toEqual(['x\n']);
    // A last line in several pieces, and a line across many reads (joined once, however long).
    expect(await lines('a\nx', 'y', 'z')).toEqual(['a\n', 'xyz']);
    expect(await lines(...Array.from({ length: 200 }, () => 'w'.repeat(1000)), '\nq')).toEqual([`${'w'.repeat(200_000)}\n`, 'q']);
    expect(await lines()).toEqual([]);
    // A chunk at a time: the lines each chunk completes, none for a chunk inside a line.
    const byChunk: string[][] = [];
    for await (const group of splitByteLineChunks(chunks('a b\nc', 'd\n\ne', '', 'f', 'g', 'h\ni')))
      byChunk.push(group.map((line) => Buffer.from(line).toString('latin1')));
    expect(byChunk).toEqual([['a b\n'], ['cd\n', '\n'], ['efgh\n'], ['i']]);
  });

  it('ends a line at the word </s> written in the text, as at a \\n: the rest is a line of its own', () => {
    // fastText 0.9.2 on `a </s> b\nc </s>\n`: test counts three lines, predict prints four.
    expect([...new WordReader(bytes('a </s> b\nc </s>\n')).lines()]).toEqual([['a', EOS], ['b', EOS], ['c', EOS], [EOS]]);
    expect([...new WordReader(bytes('</s>')).lines()]).toEqual([[EOS]]);
    // The space that ends a word goes with it, as readWord takes it: nothing is left after `</s> `.
    expect([...new WordReader(bytes('a </s> ')).lines()]).toEqual([['a', EOS]]);
    expect([...new WordReader(bytes('a </s>\t\n')).lines()]).toEqual([['a', EOS], [EOS]]);
    expect([...new WordReader(bytes('')).lines()]).toEqual([]);
  });
});

describe("fastText's dictionary", () => {
  it('counts words and labels, words first, by count descending (ties as fastText 0.9.2 leaves them), thresholds each kind', () => {
    const d = FastTextDictionary.build(bytes('__label__a x y x\n__label__b x z\n__label__a y\n'), {
      ...options,
      minCount: 2,
      minCountLabel: 2,
    });
    expect(d.entries.map((e) => [e.word, e.count, e.type])).toEqual([
      // fastText 0.9.2 dumps this corpus's dictionary in this order too: x before </s>.
      ['x', 3, 'word'],
      [EOS, 3, 'word'],
      ['y', 2, 'word'],
      ['__label__a', 2, 'label'],
    ]);
    expect([d.nwords, d.nlabels, d.ntokens]).toEqual([3, 1, 12]);
    expect(d.dump()).toBe(`4\nx 3 word\n${EOS} 3 word\ny 2 word\n__label__a 2 label\n`);
  });

  it('prunes while reading as fastText does past 75% of its cap, counting on into the words kept', () => {
    // Cap 4: past 3 entries, everything under count 2 goes (and the threshold rises each time).
    const d = FastTextDictionary.build(bytes('a a b c d a b\n'), { ...options, minCount: 1 }, 0, 4);
    // After "a a b c": a 2, b 1, c 1 (3 entries); d makes 4 > 3: a stays (2); then a, b, </s> are counted in.
    expect(d.entries.map((e) => [e.word, e.count])).toEqual([
      ['a', 3],
      ['b', 1],
      [EOS, 1],
    ]);
    expect(d.ntokens).toBe(8);
  });

  it('gives the lines of bytes (linesOfBytes) exactly as line gives the words WordReader reads', () => {
    // Small alphabets with every separator, `</s>` written out, bytes ≥ 0x80 and a one-char label prefix,
    // under dictionaries with and without character n-grams, word n-grams, buckets and the word `</s>`.
    let x = 7;
    const next = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = [0x61, 0x62, 0x20, 0x0a, 0x3c, 0x2f, 0x73, 0x3e, 0x09, 0x00, 0xe9, 0xc3, 0x0d, 0x5f];
    const corpus = (n: number) => Uint8Array.from({ length: n }, () => alphabet[Math.floor(next() * alphabet.length)]);
    for (let k = 0; k < 150; k++) {
      const train = corpus(Math.floor(next() * 400));
      const d = FastTextDictionary.build(train, {
        labelPrefix: ['_', '__label__', 'a'][k % 3],
        minn: k % 2 ? 2 : 0,
        maxn: k % 2 ? 3 : 0,
        bucket: k % 5 === 0 ? 0 : 1000,
        wordNgrams: 1 + (k % 3),
        minCount: 1 + (k % 4),
        minCountLabel: 0,
      });
      for (const text of [train, corpus(Math.floor(next() * 200))]) {
        const byWords = [...new WordReader(text).lines()].map((words) => d.line(words));
        expect([...linesOfBytes(d, text)]).toEqual(byWords);
      }
    }
    // A restored dictionary that lists a word twice: its last entry, as the index map has it.
    const twice = FastTextDictionary.restore(
      [
        { word: 'a', count: 3, type: 'word' },
        { word: 'b', count: 2, type: 'word' },
        { word: 'a', count: 1, type: 'word' },
      ],
      6,
      -1,
      new Map(),
      options,
    );
    expect([...linesOfBytes(twice, bytes('a b\n'))]).toEqual([twice.line(['a', 'b', EOS])]);
    expect(twice.line(['a']).ids).toEqual([2]);
  });

  it('turns a line into word rows, subword rows and word n-gram rows', () => {
    const d = FastTextDictionary.build(bytes('__label__a héllo world\n'), { ...options, minn: 3, maxn: 3, wordNgrams: 2 });
    const line = d.line([utf8Word('__label__a'), utf8Word('héllo'), 'unseen', EOS]);
    expect(line.labels).toEqual([0]);
    expect(line.tokens).toBe(4);
    const hello = d.getId(utf8Word('héllo'));
    // héllo: itself, then <hé hél éll llo lo> (5 trigrams); unseen: its 6 trigrams alone; </s>: itself.
    expect(d.subwordsOfId(hello).length).toBe(6);
    expect(line.ids.slice(0, 6)).toEqual(d.subwordsOfId(hello));
    expect(line.ids.length).toBe(6 + 6 + 1 + 2);
    expect(line.ids[12]).toBe(d.getId(EOS));
    expect(d.subwordsOf('unseen').length).toBe(6);
    expect(fastTextHash(utf8Word('héllo'))).toBeGreaterThan(0);
  });
});
