/**
 * Integer mixing on 32-bit halves. JavaScript has no fast 64-bit integers, so 64-bit ids
 * travel as (lo, hi) uint32 pairs and every mix works on those halves with Math.imul.
 */

/** murmur3's 32-bit finaliser: a bijection with good avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a 64-bit value given as halves; every input bit reaches every output bit. */
export function mix64to32(lo: number, hi: number): number {
  return fmix32((lo ^ fmix32((hi + 0x9e3779b9) >>> 0)) >>> 0);
}

/** FNV-1a over UTF-16 code units: a stable 32-bit name hash, the same in every process. */
export function hashString32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h >>> 0);
}

/** Fibonacci hashing's 64-bit constant (2^64 / φ), as halves. */
const GOLDEN_LO = 0x7f4a7c15;
const GOLDEN_HI = 0x9e3779b9;

/**
 * The low 64 bits of a·b for 64-bit a and b given as uint32 halves, into out[at], out[at+1]
 * (lo, hi). Exact: the 32×32 product is taken in 16-bit limbs, the cross terms need only
 * their low 32 bits.
 */
export function mul64(alo: number, ahi: number, blo: number, bhi: number, out: Uint32Array, at: number): void {
  const a0 = alo & 0xffff;
  const a1 = alo >>> 16;
  const b0 = blo & 0xffff;
  const b1 = blo >>> 16;
  const t0 = a0 * b0;
  const t1 = a1 * b0;
  const t2 = a0 * b1;
  const mid = (t0 >>> 16) + (t1 & 0xffff) + (t2 & 0xffff);
  out[at] = (((mid & 0xffff) << 16) | (t0 & 0xffff)) >>> 0;
  const carry = a1 * b1 + (t1 >>> 16) + (t2 >>> 16) + Math.floor(mid / 65536);
  out[at + 1] = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) >>> 0;
}

/**
 * A real-looking raw 64-bit feature id for value `value` of categorical feature `feature`:
 * (feature·2^32 + value + 1) · 0x9e3779b97f4a7c15 mod 2^64, written as halves at out[2i].
 * A bijection (the constant is odd), so distinct (feature, value) pairs never collide, and
 * the ids use all 64 bits, as hashed production feature ids do.
 */
export function featureId(feature: number, value: number, out: Uint32Array, i: number): void {
  const v = value + 1;
  mul64(v >>> 0, (feature + Math.floor(v / 4294967296)) >>> 0, GOLDEN_LO, GOLDEN_HI, out, 2 * i);
}
