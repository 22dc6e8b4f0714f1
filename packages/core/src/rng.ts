import { hashString32 } from './hash.js';

/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
 * counter-based generator. The output is a pure function of (key, counter), so the value of
 * element j of row r of table t depends only on (seed, t, r, j): not on the number of shards,
 * the order rows were first touched, or whether the process restarted.
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/**
 * High 32 bits of the 64-bit product of two uint32. With a = ah·2^16 + al, the product is
 * 2^16·(ah·b) + al·b, and floor(x / 2^32) = floor((ah·b + floor(al·b / 2^16)) / 2^16); every
 * intermediate stays below 2^53, so doubles compute it exactly.
 */
function mulhi32(a: number, b: number): number {
  const ah = a >>> 16;
  const al = a & 0xffff;
  return Math.floor((ah * b + Math.floor((al * b) / 65536)) / 65536);
}

/** Writes the four uint32 outputs for (key, counter) into out[0..3]. */
export function philox4x32(k0: number, k1: number, c0: number, c1: number, c2: number, c3: number, out: Uint32Array): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi32(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi32(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/** The Philox key for one named stream (a table, a dense parameter) of one job seed. */
export interface StreamKey {
  readonly k0: number;
  readonly k1: number;
}

export function streamKey(seed: number, streamName: string): StreamKey {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  }
  const seedLo = seed >>> 0;
  const seedHi = Math.floor(seed / 0x100000000) >>> 0;
  return { k0: seedLo, k1: (hashString32(streamName) ^ Math.imul(seedHi, 0x9e3779b1)) >>> 0 };
}

const TWO_POW_32 = 4294967296;

/** uint32 → uniform double in the open interval (0, 1): never 0, so log() is always finite. */
export function uint32ToOpenUnit(x: number): number {
  return (x + 0.5) / TWO_POW_32;
}

/**
 * Fills out[offset .. offset+count) with standard normals for (key, row). Element j comes
 * from counter block floor(j/4), so a longer row extends a shorter one without changing it.
 */
export function fillNormalRow(
  key: StreamKey,
  rowLo: number,
  rowHi: number,
  streamTag: number,
  out: Float32Array | Float64Array,
  offset: number,
  count: number,
  mean = 0,
  std = 1,
): void {
  const block = scratch;
  for (let j = 0; j < count; j += 4) {
    philox4x32(key.k0, key.k1, rowLo, rowHi, j >>> 2, streamTag, block);
    normalsFromBlocks(block, 0, out, offset + j, Math.min(4, count - j), mean, std);
  }
}

/**
 * Box-Muller on a row's Philox words, from words[from]: each block's (u0, u1) gives elements
 * 4b and 4b+1, (u2, u3) elements 4b+2 and 4b+3; count elements in all. Shared by
 * fillNormalRow and the WebAssembly row init (packages/kernels), which computes the words
 * there and the logarithms and sines here, so both give the same floats.
 */
export function normalsFromBlocks(
  words: Uint32Array,
  from: number,
  out: Float32Array | Float64Array,
  offset: number,
  count: number,
  mean: number,
  std: number,
): void {
  for (let j = 0; j < count; j += 4) {
    const w = from + j;
    const r0 = Math.sqrt(-2 * Math.log(uint32ToOpenUnit(words[w])));
    const t0 = 2 * Math.PI * uint32ToOpenUnit(words[w + 1]);
    const r1 = Math.sqrt(-2 * Math.log(uint32ToOpenUnit(words[w + 2])));
    const t1 = 2 * Math.PI * uint32ToOpenUnit(words[w + 3]);
    const n = Math.min(4, count - j);
    out[offset + j] = mean + std * r0 * Math.cos(t0);
    if (n > 1) out[offset + j + 1] = mean + std * r0 * Math.sin(t0);
    if (n > 2) out[offset + j + 2] = mean + std * r1 * Math.cos(t1);
    if (n > 3) out[offset + j + 3] = mean + std * r1 * Math.sin(t1);
  }
}

/**
 * The uniforms in (0, 1) of one example of generated data, drawn in order: Philox blocks keyed
 * by `key` at counter (example, i), four values a block (`block` is the caller's scratch), so
 * every worker draws an example's values alike, whatever batch split it reads it in.
 */
export function exampleUniforms(key: StreamKey, example: number, block: Uint32Array): () => number {
  const lo = example >>> 0;
  const hi = Math.floor(example / 4294967296);
  let counter = 0;
  let have = 4;
  return () => {
    if (have === 4) {
      philox4x32(key.k0, key.k1, lo, hi, counter++, 0, block);
      have = 0;
    }
    return uint32ToOpenUnit(block[have++]);
  };
}

/** Ranks 0 .. n-1 drawn with probability ∝ 1 / (rank + 1)^s, by inverse CDF of a uniform. */
export class ZipfRanks {
  private readonly cdf: Float64Array;

  constructor(n: number, s: number) {
    this.cdf = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += 1 / (i + 1) ** s;
      this.cdf[i] = acc;
    }
    for (let i = 0; i < n; i++) this.cdf[i] /= acc;
  }

  /** The rank of uniform `u` in [0, 1). */
  rank(u: number): number {
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Fills out[offset .. offset+count) with uniforms in [a, b) for (key, row). */
export function fillUniformRow(
  key: StreamKey,
  rowLo: number,
  rowHi: number,
  streamTag: number,
  out: Float32Array | Float64Array,
  offset: number,
  count: number,
  a = 0,
  b = 1,
): void {
  const block = scratch;
  const width = b - a;
  for (let j = 0; j < count; j += 4) {
    philox4x32(key.k0, key.k1, rowLo, rowHi, j >>> 2, streamTag, block);
    const n = Math.min(4, count - j);
    for (let i = 0; i < n; i++) out[offset + j + i] = a + width * (block[i] / TWO_POW_32);
  }
}

const scratch = new Uint32Array(4);
