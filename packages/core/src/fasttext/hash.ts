/**
 * fastText's hashes, bit for bit. Words are byte strings here (one char per byte, code
 * 0..255: see `tokens.ts`), because fastText hashes bytes, and a byte of a malformed UTF-8
 * line must hash as fastText hashes it.
 */

/**
 * FNV-1a over the bytes of `word`, 32 bits, as `Dictionary::hash`: each byte goes through
 * `int8_t` before the xor, so a byte ≥ 0x80 is xored sign-extended (0xffffff80 | b), which is
 * not what textbook FNV-1a does and is what a fastText bucket id depends on.
 */
export function fastTextHash(word: string): number {
  let h = 2166136261;
  for (let i = 0; i < word.length; i++) {
    const b = word.charCodeAt(i);
    h = (h ^ (b >= 0x80 ? (b | 0xffffff00) >>> 0 : b)) >>> 0;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

const NGRAM_MULTIPLIER = 116049371n;
const MASK64 = (1n << 64n) - 1n;

/**
 * The buckets of a line's word n-grams (`Dictionary::addWordNgrams`): for each start i and
 * each length 2..n, h = h·116049371 + hash(word j) in unsigned 64 bits, bucket h mod `buckets`.
 * fastText keeps the word hashes as int32, so a hash ≥ 2^31 enters the 64-bit sum
 * sign-extended (2^64 − 2^32 + hash): the buckets depend on it.
 * Calls `push(bucket)` in fastText's order.
 */
export function forEachWordNgramBucket(
  hashes: readonly number[],
  n: number,
  buckets: number,
  push: (bucket: number) => void,
): void {
  if (n < 2 || buckets <= 0) return;
  const b = BigInt(buckets);
  const wide = hashes.map((x) => BigInt.asUintN(64, BigInt(x | 0)));
  for (let i = 0; i < wide.length; i++) {
    let h = wide[i];
    for (let j = i + 1; j < wide.length && j < i + n; j++) {
      h = (h * NGRAM_MULTIPLIER + wide[j]) & MASK64;
      push(Number(h % b));
    }
  }
}

/**
 * The character n-grams of `word` (already wrapped in `<` and `>`), as
 * `Dictionary::computeSubwords`: lengths minn..maxn counted in UTF-8 characters (a
 * continuation byte 10xxxxxx never starts an n-gram and always extends one), and no 1-gram of
 * the `<` or `>` alone. Calls `push(ngram, bucket)` in fastText's order.
 */
export function forEachCharNgram(
  word: string,
  minn: number,
  maxn: number,
  buckets: number,
  push: (bucket: number, ngram: string) => void,
): void {
  if (buckets <= 0) return;
  const size = word.length;
  for (let i = 0; i < size; i++) {
    if ((word.charCodeAt(i) & 0xc0) === 0x80) continue;
    let j = i;
    for (let n = 1; j < size && n <= maxn; n++) {
      j++;
      while (j < size && (word.charCodeAt(j) & 0xc0) === 0x80) j++;
      if (n >= minn && !(n === 1 && (i === 0 || j === size))) {
        const ngram = word.slice(i, j);
        push(fastTextHash(ngram) % buckets, ngram);
      }
    }
  }
}
