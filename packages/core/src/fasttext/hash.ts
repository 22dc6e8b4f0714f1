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

const NGRAM_MULTIPLIER = 116049371;
const TWO_16 = 65536;
const TWO_32 = 4294967296;

/**
 * a mod m for integers 0 ≤ a < 2^53 and 0 < m ≤ 2^32, exactly, without `%` on doubles (a call
 * into the C library's fmod, which made over half of tokenising a line): the quotient from
 * the division may be one off when a / m rounds to an integer, and the remainder says so.
 */
function modOf(a: number, m: number): number {
  const r = a - Math.floor(a / m) * m;
  return r < 0 ? r + m : r >= m ? r - m : r;
}

/** (a · c) mod m for a, c < 2^32 and m ≤ 2^32, exactly: c in 16-bit halves keeps every product under 2^48. */
function mulMod(a: number, c: number, m: number): number {
  return modOf(modOf(a * (c >>> 16), m) * TWO_16 + a * (c & 0xffff), m);
}

/**
 * The buckets of a line's word n-grams (`Dictionary::addWordNgrams`): for each start i and
 * each length 2..n, h = h·116049371 + hash(word j) in unsigned 64 bits, bucket h mod `buckets`.
 * fastText keeps the word hashes as int32, so a hash ≥ 2^31 enters the 64-bit sum
 * sign-extended (2^64 − 2^32 + hash): the buckets depend on it.
 * Calls `push(bucket)` in fastText's order.
 *
 * h is held as two uint32 halves in doubles (exact: no product passes 2^53), where BigInt
 * took a quarter of the examples pass over a corpus (tests compare the two).
 */
export function forEachWordNgramBucket(
  hashes: readonly number[],
  n: number,
  buckets: number,
  push: (bucket: number) => void,
): void {
  if (n < 2 || buckets <= 0) return;
  const highWeight = TWO_32 % buckets; // 2^32 mod buckets
  for (let i = 0; i < hashes.length; i++) {
    let lo = hashes[i] >>> 0;
    let hi = lo >= 0x80000000 ? 0xffffffff : 0;
    for (let j = i + 1; j < hashes.length && j < i + n; j++) {
      // (hi, lo) · M: lo in 16-bit halves, each product under 2^43; hi · M only mod 2^32.
      // (x & 0xffff and x >>> 0 take x mod 2^16 and 2^32 exactly for any integer x < 2^53.)
      const low = (lo & 0xffff) * NGRAM_MULTIPLIER;
      const high = (lo >>> 16) * NGRAM_MULTIPLIER;
      const sumLow = low + (high & 0xffff) * TWO_16;
      const carry = Math.floor(sumLow / TWO_32) + Math.floor(high / TWO_16);
      // + the next word's hash, sign-extended to 64 bits.
      const w = hashes[j] >>> 0;
      const added = (sumLow >>> 0) + w;
      lo = added >>> 0;
      hi = (Math.imul(hi, NGRAM_MULTIPLIER) + carry + (w >= 0x80000000 ? 0xffffffff : 0) + (added >= TWO_32 ? 1 : 0)) >>> 0;
      push(modOf(mulMod(modOf(hi, buckets), highWeight, buckets) + lo, buckets));
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
        push(modOf(fastTextHash(ngram), buckets), ngram);
      }
    }
  }
}
