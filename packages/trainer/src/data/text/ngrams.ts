import { positiveInt } from '@rowshard/core';

/**
 * fastText's hashed word n-grams, bit for bit, so a bucket table trained here lines up with
 * fastText's (and fastText-trained n-gram rows can be loaded as initial values).
 */

const FNV_OFFSET = 2166136261;
const FNV_PRIME = 16777619;
const NGRAM_MULTIPLIER = 116049371;
const TWO_POW_32 = 4294967296;
/** fastText keeps bucket ids in int32, so more buckets than this cannot match it. */
const MAX_BUCKET = 2147483647;

/**
 * fastText's word hash: FNV-1a 32 over the word's UTF-8 bytes, except that each byte is first
 * cast to int8_t and sign-extended (`h ^ uint32_t(int8_t(c))`), so a byte >= 0x80 flips the top
 * 24 bits too. Plain FNV-1a agrees only on ASCII. The UTF-8 bytes are produced inline rather
 * than by TextEncoder: this runs once per token of every line, and an allocation each is waste.
 * A lone surrogate hashes as U+FFFD, as TextEncoder would encode it.
 */
export function fnv1a32(word: string): number {
  let h = FNV_OFFSET;
  const mix = (byte: number) => {
    h = Math.imul((h ^ ((byte << 24) >> 24)) >>> 0, FNV_PRIME) >>> 0;
  };
  for (let i = 0; i < word.length; i++) {
    let cp = word.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < word.length ? word.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    if (cp < 0x80) {
      mix(cp);
    } else if (cp < 0x800) {
      mix(0xc0 | (cp >> 6));
      mix(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      mix(0xe0 | (cp >> 12));
      mix(0x80 | ((cp >> 6) & 0x3f));
      mix(0x80 | (cp & 0x3f));
    } else {
      mix(0xf0 | (cp >> 18));
      mix(0x80 | ((cp >> 12) & 0x3f));
      mix(0x80 | ((cp >> 6) & 0x3f));
      mix(0x80 | (cp & 0x3f));
    }
  }
  return h;
}

/**
 * Bucket indices in [0, bucket) of the word n-grams (2..wordNgrams words) of a line, in
 * fastText's order: for each start i, the n-grams i..i+1, i..i+2, ... The caller offsets them
 * by the vocabulary size. `hashes` must hold fnv1a32 of every token of the line, out-of-
 * vocabulary words included, as fastText does; to reproduce fastText exactly also end the line
 * with the hash of its end-of-sentence token '</s>', which fastText appends to every line.
 *
 * fastText's recurrence is `h = h * 116049371 + hashes[j]` in uint64 arithmetic, with the word
 * hashes stored as int32_t: a hash with bit 31 set enters sign-extended (as 2^64 - 2^32 + h).
 * Doubles cannot hold 64-bit products and BigInt allocates per step, so h is kept as two uint32
 * halves: the low half's product splits into Math.imul (low 32 bits) and an exact high part,
 * and h mod bucket is reduced 16 bits at a time so every intermediate stays below 2^53. The
 * unit test checks this against a straightforward BigInt reference.
 */
export function wordNgramBuckets(hashes: ArrayLike<number>, wordNgrams: number, bucket: number): number[] {
  positiveInt(wordNgrams, 'wordNgrams');
  positiveInt(bucket, 'bucket');
  if (bucket > MAX_BUCKET) throw new RangeError(`bucket must be at most ${MAX_BUCKET} (fastText's int32 ids), got ${bucket}`);
  const out: number[] = [];
  const len = hashes.length;
  for (let i = 0; i < len; i++) {
    let lo = hashes[i] >>> 0;
    let hi = lo >= 0x80000000 ? 0xffffffff : 0;
    const end = Math.min(len, i + wordNgrams);
    for (let j = i + 1; j < end; j++) {
      // h * M mod 2^64, M < 2^27.
      const productLo = Math.imul(lo, NGRAM_MULTIPLIER) >>> 0;
      const carry = mulHigh32(lo, NGRAM_MULTIPLIER);
      hi = (Math.imul(hi, NGRAM_MULTIPLIER) + carry) >>> 0;
      // + sign-extended hashes[j], mod 2^64.
      const add = hashes[j] >>> 0;
      const sum = productLo + add;
      lo = sum >>> 0;
      hi = (hi + (add >= 0x80000000 ? 0xffffffff : 0) + (sum >= TWO_POW_32 ? 1 : 0)) >>> 0;
      out.push(mod64(hi, lo, bucket));
    }
  }
  return out;
}

/** floor(a * b / 2^32) for uint32 a, b, exactly (the halves keep each product below 2^53). */
function mulHigh32(a: number, b: number): number {
  const aHigh = a >>> 16;
  const aLow = a & 0xffff;
  return Math.floor((aHigh * b + Math.floor((aLow * b) / 65536)) / 65536);
}

/** (hi * 2^32 + lo) mod m for m < 2^31: Horner over 16-bit digits keeps r * 65536 below 2^47. */
function mod64(hi: number, lo: number, m: number): number {
  let r = hi % m;
  r = (r * 65536 + (lo >>> 16)) % m;
  return (r * 65536 + (lo & 0xffff)) % m;
}
