import { ErrorCodes, type RowshardError } from '@rowshard/core';
import { thrown } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { TokenCounter } from './token-counter.js';
import { tokenize } from './tokenizer.js';
import { Vocabulary } from './vocabulary.js';

function counts(entries: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(entries));
}

describe('TokenCounter', () => {
  it('counts tokens across adds and merges', () => {
    const a = new TokenCounter();
    a.add(tokenize('the cat the'));
    const b = new TokenCounter();
    b.add(['cat', 'dog']);
    a.merge(b);
    expect(a.counts).toEqual(counts({ the: 2, cat: 2, dog: 1 }));
    expect(a.totalTokens).toBe(5);
  });
});

describe('Vocabulary', () => {
  it('puts reserved tokens first, then count descending, ties in code-unit order', () => {
    const vocab = Vocabulary.build(counts({ b: 3, a: 3, Z: 3, c: 5, d: 1 }), { reserved: ['<pad>', '<unk>'] });
    expect(vocab.words).toEqual(['<pad>', '<unk>', 'c', 'Z', 'a', 'b', 'd']);
    expect(vocab.size).toBe(7);
    expect(vocab.id('<unk>')).toBe(1);
    expect(vocab.id('a')).toBe(4);
    expect(vocab.id('missing')).toBeUndefined();
    expect(vocab.word(2)).toBe('c');
    expect(vocab.count(2)).toBe(5);
    expect(vocab.count(0)).toBe(0);
  });

  it('does not depend on the order the counts were gathered in', () => {
    const forward = Vocabulary.build(counts({ x: 2, y: 2, z: 2, w: 9 }));
    const backward = Vocabulary.build(new Map([...counts({ x: 2, y: 2, z: 2, w: 9 })].reverse()));
    expect(backward.words).toEqual(forward.words);
  });

  it('drops words below minCount and caps the size, reserved included', () => {
    const c = counts({ a: 5, b: 4, c: 2, d: 1 });
    expect(Vocabulary.build(c, { minCount: 2 }).words).toEqual(['a', 'b', 'c']);
    expect(Vocabulary.build(c, { reserved: ['<unk>'], maxSize: 3 }).words).toEqual(['<unk>', 'a', 'b']);
  });

  it('keeps a reserved token at its reserved id when it also occurs as a word', () => {
    const vocab = Vocabulary.build(counts({ '<unk>': 9, a: 1 }), { reserved: ['<pad>', '<unk>'] });
    expect(vocab.words).toEqual(['<pad>', '<unk>', 'a']);
  });

  it('rejects bad options naming the field', () => {
    expect(() => Vocabulary.build(counts({}), { minCount: 0 })).toThrow(/minCount/);
    expect(() => Vocabulary.build(counts({}), { reserved: ['a', 'a'] })).toThrow(/reserved\[1\]/);
    expect(() => Vocabulary.build(counts({}), { reserved: ['a', 'b'], maxSize: 1 })).toThrow(/maxSize/);
    expect(() => Vocabulary.build(counts({ 'a\tb': 1 }))).toThrow(RangeError);
  });

  it('round-trips through its text form', () => {
    const vocab = Vocabulary.build(counts({ hello: 3, wörld: 2, '!': 2 }), { reserved: ['<pad>'] });
    const text = vocab.toText();
    expect(text).toBe('<pad>\t0\nhello\t3\n!\t2\nwörld\t2\n');
    const back = Vocabulary.fromText(text, 'vocab.txt');
    expect(back.words).toEqual(vocab.words);
    expect(back.toText()).toBe(text);
    expect(back.id('wörld')).toBe(3);
    expect(Vocabulary.fromText('a\t1\r\nb\t0', 'vocab.txt').words).toEqual(['a', 'b']);
  });

  it('names file, line and field for a bad vocabulary file', () => {
    const noTab = thrown<RowshardError>(() => Vocabulary.fromText('a\t1\nb 2\n', 'vocab.txt'));
    expect(noTab.code).toBe(ErrorCodes.BAD_DATA);
    expect(noTab.message).toBe("vocab.txt:2: expected 'word<TAB>count', found no tab");
    expect(noTab.details).toMatchObject({ file: 'vocab.txt', line: 2, field: 'count' });
    expect(thrown<RowshardError>(() => Vocabulary.fromText('a\t1\nb\tx\n', 'v.txt')).message).toBe(
      `v.txt:2: field 'count' must be a non-negative integer, got "x"`,
    );
    expect(thrown<RowshardError>(() => Vocabulary.fromText('a\t1\n\t2\n', 'v.txt')).details).toMatchObject({
      line: 2,
      field: 'word',
    });
    expect(thrown<RowshardError>(() => Vocabulary.fromText('a\t1\nb\t1\tc\n', 'v.txt')).message).toMatch(
      /^v\.txt:2: field 'word' may not contain a tab/,
    );
    expect(thrown<RowshardError>(() => Vocabulary.fromText('a\t1\nb\t1\na\t1\n', 'v.txt')).message).toBe(
      'v.txt:3: word "a" repeats line 1',
    );
  });

  it('throws a RangeError for an id outside the vocabulary', () => {
    const vocab = Vocabulary.build(counts({ a: 1 }));
    expect(() => vocab.word(1)).toThrow(RangeError);
    expect(() => vocab.count(-1)).toThrow(RangeError);
  });
});
