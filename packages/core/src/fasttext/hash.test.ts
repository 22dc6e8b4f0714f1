import { describe, expect, it } from 'vitest';
import { fastTextHash, forEachCharNgram, forEachWordNgramBucket } from './hash.js';
import { utf8Word } from './tokens.js';

describe("fastText's hashes", () => {
  it('is FNV-1a 32 on ASCII', () => {
    // Reference values of FNV-1a 32 (offset 2166136261, prime 16777619).
    expect(fastTextHash('')).toBe(2166136261);
    expect(fastTextHash('a')).toBe(0xe40c292c);
    expect(fastTextHash('foobar')).toBe(0xbf9cf968);
  });

  it('xors bytes ≥ 0x80 sign-extended, as int8_t does', () => {
    const byte = String.fromCharCode(0xc3);
    const textbook = Math.imul((2166136261 ^ 0xc3) >>> 0, 16777619) >>> 0;
    const signed = Math.imul((2166136261 ^ 0xffffffc3) >>> 0, 16777619) >>> 0;
    expect(fastTextHash(byte)).toBe(signed);
    expect(fastTextHash(byte)).not.toBe(textbook);
  });

  it('cuts character n-grams on UTF-8 characters and leaves out a lone < or >', () => {
    const grams: string[] = [];
    forEachCharNgram(utf8Word('<é>'), 1, 2, 1000, (_b, g) => grams.push(g));
    // é is two bytes, one character: '<é', 'é', 'é>' ('<' and '>' alone are not n-grams).
    expect(grams).toEqual([utf8Word('<é'), utf8Word('é'), utf8Word('é>')]);
  });

  it('combines word hashes as int32 sign-extended into 64 bits', () => {
    const out: number[] = [];
    forEachWordNgramBucket([0xffffffff, 1], 2, 1_000_003, (b) => out.push(b));
    const h = (BigInt.asUintN(64, -1n) * 116049371n + 1n) & ((1n << 64n) - 1n);
    expect(out).toEqual([Number(h % 1_000_003n)]);
  });
});
