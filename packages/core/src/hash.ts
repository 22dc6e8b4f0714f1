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
