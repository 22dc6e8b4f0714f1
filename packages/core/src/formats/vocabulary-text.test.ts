import { thrown } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type RowshardError } from '../errors.js';
import { formatCountedList, parseCountedList, parseVocabulary } from './vocabulary-text.js';

describe('vocabulary text', () => {
  it('reads back what training writes: word<TAB>count, line i = row i', () => {
    const text = formatCountedList(['<pad>', 'king', 'queen'], [0, 7, 3]);
    expect(text).toBe('<pad>\t0\nking\t7\nqueen\t3\n');
    expect(parseCountedList(text, 'vocab.txt', 'word')).toEqual({ entries: ['<pad>', 'king', 'queen'], counts: [0, 7, 3] });
    expect(parseVocabulary(text, 'vocab.txt')).toEqual(['<pad>', 'king', 'queen']);
  });

  it('reads a plain list, one word per line, with no counts', () => {
    expect(parseCountedList('king\nqueen\r\nman', 'words.txt', 'word')).toEqual({
      entries: ['king', 'queen', 'man'],
      counts: null,
    });
    expect(parseVocabulary('a b\nc\n', 'words.txt')).toEqual(['a b', 'c']);
  });

  it('refuses a mix of the two forms, and a plain list where counts are required, naming file and line', () => {
    const mixed = thrown<RowshardError>(() => parseVocabulary('king\t3\nqueen\n', 'v.txt'));
    expect(mixed.code).toBe(ErrorCodes.BAD_DATA);
    expect(mixed.message).toBe("v.txt:2: expected 'word<TAB>count' like line 1, found no tab");
    expect(thrown<RowshardError>(() => parseVocabulary('king\nqueen\t3\n', 'v.txt')).message).toBe(
      'v.txt:2: expected one word per line like line 1, found a tab',
    );
    expect(thrown<RowshardError>(() => parseCountedList('king\n', 'v.txt', 'word', { requireCounts: true })).message).toBe(
      "v.txt:1: expected 'word<TAB>count', found no tab",
    );
    expect(thrown<RowshardError>(() => parseVocabulary('a\nb\na\n', 'v.txt')).message).toBe('v.txt:3: word "a" repeats line 1');
    expect(thrown<RowshardError>(() => parseVocabulary('a\n\nb\n', 'v.txt')).details).toMatchObject({ line: 2, field: 'word' });
  });
});
