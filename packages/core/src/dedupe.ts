/**
 * Deduplication of row ids over typed arrays. A batch of 8192 zipf lookups touches ~3k
 * distinct rows; pulling and pushing each distinct row once is the whole point of a sparse
 * parameter server. Open addressing over an Int32Array: no per-id objects, no Map.
 */
export interface DedupedIds {
  /** Distinct ids in order of first occurrence. */
  readonly unique: Float64Array;
  /** For each input position, the index of its id in `unique`. */
  readonly inverse: Int32Array;
  /** How often each distinct id occurs (what scale_grad_by_freq divides by). */
  readonly counts: Int32Array;
}

function tableCapacity(n: number): number {
  let cap = 16;
  while (cap < n * 2) cap <<= 1;
  return cap;
}

/** Ids must be non-negative integers below 2^53 (validate first; this does not check). */
export function dedupeIds(ids: ArrayLike<number>): DedupedIds {
  const n = ids.length;
  const cap = tableCapacity(n);
  const mask = cap - 1;
  const slots = new Int32Array(cap).fill(-1);
  const uniqueTmp = new Float64Array(n);
  const countsTmp = new Int32Array(n);
  const inverse = new Int32Array(n);
  let u = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    let h = Math.imul((id >>> 0) ^ Math.floor(id / 4294967296), 0x9e3779b1) >>> 0;
    for (;;) {
      const slot = h & mask;
      const at = slots[slot];
      if (at === -1) {
        slots[slot] = u;
        uniqueTmp[u] = id;
        countsTmp[u] = 1;
        inverse[i] = u++;
        break;
      }
      if (uniqueTmp[at] === id) {
        countsTmp[at]++;
        inverse[i] = at;
        break;
      }
      h = slot + 1;
    }
  }
  return { unique: uniqueTmp.slice(0, u), inverse, counts: countsTmp.slice(0, u) };
}

export interface DedupedIds64 {
  /** Distinct ids as (lo, hi) halves, first-occurrence order: [lo0, hi0, lo1, hi1, ...]. */
  readonly unique: Uint32Array;
  readonly inverse: Int32Array;
}

/** dedupeIds for 64-bit ids given as (lo, hi) uint32 halves (hashed tables). */
export function dedupeIds64(halves: Uint32Array): DedupedIds64 {
  const n = halves.length / 2;
  const cap = tableCapacity(n);
  const mask = cap - 1;
  const slots = new Int32Array(cap).fill(-1);
  const unique = new Uint32Array(halves.length);
  const inverse = new Int32Array(n);
  let u = 0;
  for (let i = 0; i < n; i++) {
    const lo = halves[2 * i];
    const hi = halves[2 * i + 1];
    let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 0;
    for (;;) {
      const slot = h & mask;
      const at = slots[slot];
      if (at === -1) {
        slots[slot] = u;
        unique[2 * u] = lo;
        unique[2 * u + 1] = hi;
        inverse[i] = u++;
        break;
      }
      if (unique[2 * at] === lo && unique[2 * at + 1] === hi) {
        inverse[i] = at;
        break;
      }
      h = slot + 1;
    }
  }
  return { unique: unique.slice(0, 2 * u), inverse };
}
