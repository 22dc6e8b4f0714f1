import { describe, expect, it } from 'vitest';
import { fnv1a32, wordNgramBuckets } from './ngrams.js';

/** fastText's Dictionary::hash, spelled out with BigInt: h ^= uint32_t(int8_t(byte)); h *= prime. */
function referenceHash(word: string): number {
  let h = 2166136261n;
  for (const byte of Buffer.from(word, 'utf8')) {
    h ^= BigInt.asUintN(32, BigInt((byte << 24) >> 24));
    h = BigInt.asUintN(32, h * 16777619n);
  }
  return Number(h);
}

/** fastText's Dictionary::addWordNgrams with `std::vector<int32_t> hashes` and uint64_t h. */
function referenceNgrams(hashes: readonly number[], n: number, bucket: number): number[] {
  const asUint64 = (x: number) => BigInt.asUintN(64, BigInt(x | 0));
  const out: number[] = [];
  for (let i = 0; i < hashes.length; i++) {
    let h = asUint64(hashes[i]);
    for (let j = i + 1; j < hashes.length && j < i + n; j++) {
      h = BigInt.asUintN(64, h * 116049371n + asUint64(hashes[j]));
      out.push(Number(h % BigInt(bucket)));
    }
  }
  return out;
}

describe('fnv1a32', () => {
  it('matches known values', () => {
    expect(fnv1a32('hello')).toBe(1335831723);
    expect(fnv1a32('')).toBe(2166136261);
    expect(fnv1a32('a')).toBe(0xe40c292c);
  });

  it('sign-extends bytes >= 0x80 as fastText does, unlike plain FNV-1a', () => {
    // é is C3 A9: h = ((2166136261 ^ 0xffffffc3) * p) ^ 0xffffffa9) * p, mod 2^32.
    const p = 16777619n;
    const step1 = BigInt.asUintN(32, (2166136261n ^ 0xffffffc3n) * p);
    const expected = Number(BigInt.asUintN(32, (step1 ^ 0xffffffa9n) * p));
    expect(fnv1a32('é')).toBe(expected);
    const plainStep1 = BigInt.asUintN(32, (2166136261n ^ 0xc3n) * p);
    expect(fnv1a32('é')).not.toBe(Number(BigInt.asUintN(32, (plainStep1 ^ 0xa9n) * p)));
  });

  it('agrees with the reference on ASCII, accents, CJK, emoji and a lone surrogate', () => {
    for (const word of ['</s>', 'the', 'café', 'naïve', '東京', 'москва', '😀', 'a😀b', '\ud800x']) {
      expect(fnv1a32(word), word).toBe(referenceHash(word));
    }
  });
});

describe('wordNgramBuckets', () => {
  it('matches a hand computation', () => {
    // One bigram: (1 * 116049371 + 2) mod 2000000 = 116049373 mod 2000000 = 49373.
    expect(wordNgramBuckets([1, 2], 2, 2_000_000)).toEqual([49373]);
    // Trigrams add ((1*M + 2) * M + 3) for i=0; i=1 gives (2*M + 3).
    const M = 116049371n;
    const tri = Number(((1n * M + 2n) * M + 3n) % 2_000_000n);
    expect(wordNgramBuckets([1, 2, 3], 3, 2_000_000)).toEqual([49373, tri, Number((2n * M + 3n) % 2_000_000n)]);
    expect(wordNgramBuckets([1, 2, 3], 1, 2_000_000)).toEqual([]);
    expect(wordNgramBuckets([], 2, 10)).toEqual([]);
  });

  it('sign-extends hashes with bit 31 set, as fastText int32 hashes do', () => {
    // uint64(int32(0x80000000)) = 2^64 - 2^31; times M plus 0, mod 2^64, mod bucket.
    const h = BigInt.asUintN(64, (2n ** 64n - 2n ** 31n) * 116049371n);
    expect(wordNgramBuckets([0x80000000, 0], 2, 1_000_003)).toEqual([Number(h % 1_000_003n)]);
  });

  it('agrees with a BigInt reference on real word hashes and edge values', () => {
    const words = 'the quick brown fox jumps over the lazy dog , café 東京 😀 </s>'.split(' ');
    const hashes = [...words.map(fnv1a32), 0, 0xffffffff, 0x80000000, 0x7fffffff, 1];
    for (const n of [1, 2, 3, 5]) {
      for (const bucket of [1, 7, 2_000_000, 2_147_483_647]) {
        expect(wordNgramBuckets(hashes, n, bucket), `n=${n} bucket=${bucket}`).toEqual(referenceNgrams(hashes, n, bucket));
      }
    }
    // Typed arrays work too, whether the hashes are stored signed or unsigned.
    expect(wordNgramBuckets(Int32Array.from(hashes), 3, 2_000_000)).toEqual(referenceNgrams(hashes, 3, 2_000_000));
    expect(wordNgramBuckets(Uint32Array.from(hashes), 3, 2_000_000)).toEqual(referenceNgrams(hashes, 3, 2_000_000));
  });

  it('rejects bad parameters', () => {
    expect(() => wordNgramBuckets([1, 2], 0, 10)).toThrow(/wordNgrams/);
    expect(() => wordNgramBuckets([1, 2], 2, 0)).toThrow(/bucket/);
    expect(() => wordNgramBuckets([1, 2], 2, 2 ** 31)).toThrow(RangeError);
  });
});
