import { describe, expect, it } from 'vitest';
import { tokenize } from './tokenizer.js';

describe('tokenize', () => {
  it('lowercases and splits words, digits and each punctuation mark', () => {
    expect(tokenize("Hello, World!! It's 2024.")).toEqual(['hello', ',', 'world', '!', '!', 'it', "'", 's', '2024', '.']);
  });

  it('keeps unicode letters and combining marks inside a word', () => {
    expect(tokenize('Café Ünïcode')).toEqual(['café', 'ünïcode']);
    // e + U+0301 and the precomposed é give the same token.
    expect(tokenize('Cafe\u0301')).toEqual(['café']);
    expect(tokenize('ΑΘΗΝΑ москва 東京')).toEqual(['αθηνα', 'москва', '東京']);
  });

  it('splits letters from digits and keeps digit runs whole', () => {
    expect(tokenize('abc123def 3.14 ٣٤')).toEqual(['abc', '123', 'def', '3', '.', '14', '٣٤']);
  });

  it('makes each symbol one token, surrogate pairs included', () => {
    expect(tokenize('a+b=c $5 😀😀')).toEqual(['a', '+', 'b', '=', 'c', '$', '5', '😀', '😀']);
  });

  it('treats whitespace, controls and invisible format characters as separators only', () => {
    expect(tokenize('  \t\n\u00a0\u3000 ')).toEqual([]);
    expect(tokenize('one\u200btwo\u0000three')).toEqual(['one', 'two', 'three']);
    expect(tokenize('')).toEqual([]);
  });

  it('never produces a token that looks like a fastText label', () => {
    const tokens = tokenize('__label__spam buy __label__ham');
    expect(tokens.some((t) => t.startsWith('__label__'))).toBe(false);
    expect(tokens).toEqual(['_', '_', 'label', '_', '_', 'spam', 'buy', '_', '_', 'label', '_', '_', 'ham']);
  });
});
