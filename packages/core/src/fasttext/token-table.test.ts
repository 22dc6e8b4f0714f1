import { describe, expect, it } from 'vitest';
import { TokenTable } from './token-table.js';
import { wordToBytes } from './tokens.js';

describe('TokenTable', () => {
  it('numbers words in the order first seen, wherever their bytes lie', () => {
    const table = new TokenTable();
    const text = wordToBytes('b a b c a');
    expect(table.numberOf(text, 0, 1)).toBe(0); // b
    expect(table.numberOf(text, 2, 3)).toBe(1); // a
    expect(table.numberOf(text, 4, 5)).toBe(0); // b again
    expect(table.numberOf(wordToBytes('c'), 0, 1)).toBe(2); // c, from another buffer
    expect(table.numberOf(text, 6, 7)).toBe(2);
    expect(table.numberOf(text, 0, 3)).toBe(3); // 'b a' is a word of its own
    expect(table.numberOf(text, 0, 0)).toBe(4); // and so is the empty one
    expect(table.size).toBe(5);
  });

  it('keeps every word through its growth, and forgets them all on clear', () => {
    const table = new TokenTable();
    // Past the first arrays (1024 words) and arena (64 KiB), words sharing prefixes and lengths.
    const words = Array.from({ length: 20000 }, (_, i) => `w${i}${'x'.repeat(i % 7)}`);
    words.forEach((w, i) => expect(table.numberOf(wordToBytes(w), 0, w.length)).toBe(i));
    words.forEach((w, i) => {
      if (table.numberOf(wordToBytes(w), 0, w.length) !== i) expect.fail(`${w} lost its number ${i}`);
    });
    table.clear();
    expect(table.size).toBe(0);
    expect(table.numberOf(wordToBytes(words[5]), 0, words[5].length)).toBe(0);
  });
});
