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

  it('gives the buckets of 64-bit BigInt arithmetic, for any hashes, lengths and bucket counts', () => {
    const reference = (hashes: number[], n: number, buckets: number): number[] => {
      const out: number[] = [];
      const wide = hashes.map((x) => BigInt.asUintN(64, BigInt(x | 0)));
      for (let i = 0; i < wide.length; i++) {
        let h = wide[i];
        for (let j = i + 1; j < wide.length && j < i + n; j++) {
          h = BigInt.asUintN(64, h * 116049371n + wide[j]);
          out.push(Number(h % BigInt(buckets)));
        }
      }
      return out;
    };
    // A fixed pseudo-random sequence (xorshift), hashes across the whole uint32 range.
    let x = 0x9e3779b9;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const bucketCounts = [1, 2, 7, 65_537, 1_000_003, 2_000_000, 2_147_483_647];
    for (let t = 0; t < 700; t++) {
      const hashes = Array.from({ length: 1 + (t % 23) }, () => (t % 5 === 0 ? 0xffffffff - (next() % 3) : next()));
      const n = 2 + (t % 4);
      const buckets = bucketCounts[t % bucketCounts.length];
      const got: number[] = [];
      forEachWordNgramBucket(hashes, n, buckets, (b) => got.push(b));
      expect(got).toEqual(reference(hashes, n, buckets));
    }
  });
});
