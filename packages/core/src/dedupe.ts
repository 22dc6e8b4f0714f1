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

/**
 * Numbers distinct ids (non-negative integers below 2^53) in order of first occurrence, by
 * open addressing over typed arrays. Its tables are kept and reused from one call of `reset`
 * to the next, so a caller that dedupes every step allocates nothing once they are big enough.
 * Behind dedupeIds, a worker's routing and a shard's coalescing; ids past 2^53 (hashed, as
 * halves) go through dedupeIds64, and lookups without inserting through IdIndex.
 */
export class Deduper {
  private slots = new Int32Array(0);
  private ids = new Float64Array(0);
  private mask = 0;
  private shift = 0;
  /** Distinct ids so far. */
  count = 0;

  /** Starts over, ready for up to `capacity` ids. */
  reset(capacity: number): void {
    const cap = tableCapacity(capacity);
    if (this.slots.length < cap) this.slots = new Int32Array(cap);
    if (this.ids.length < capacity) this.ids = new Float64Array(Math.max(capacity, 16));
    this.slots.fill(-1, 0, cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    this.count = 0;
  }

  /** The number of `id`: its index among the distinct ids, in order of first occurrence. */
  indexOf(id: number): number {
    const slots = this.slots;
    // A multiplicative hash of the id's low and high 32 bits, its top bits as the bucket; the
    // high half is worked out only for ids past 2^32 (a division per id costs ~15% of a step's dedupe).
    const high = id > 0xffffffff ? (id / 4294967296) >>> 0 : 0;
    let slot = Math.imul((id >>> 0) ^ high, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const at = slots[slot];
      if (at === -1) {
        slots[slot] = this.count;
        this.ids[this.count] = id;
        return this.count++;
      }
      if (this.ids[at] === id) return at;
      slot = (slot + 1) & this.mask;
    }
  }

  /** The distinct ids in order of first occurrence (a view, valid until the next reset). */
  distinct(): Float64Array {
    return this.ids.subarray(0, this.count);
  }
}

/** Ids must be non-negative integers below 2^53 (validate first; this does not check). */
export function dedupeIds(ids: ArrayLike<number>): DedupedIds {
  const n = ids.length;
  const deduper = new Deduper();
  deduper.reset(n);
  const inverse = new Int32Array(n);
  const countsTmp = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = deduper.indexOf(ids[i]);
    inverse[i] = u;
    countsTmp[u]++;
  }
  return { unique: deduper.distinct().slice(), inverse, counts: countsTmp.slice(0, deduper.count) };
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
