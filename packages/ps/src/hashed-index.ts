/**
 * Open addressing (linear probing) from 64-bit row ids, held as (lo, hi) uint32 halves, to
 * dense local slots 0, 1, 2, ... in order of first touch. Keys and slots live in typed
 * arrays: 12 bytes per bucket, no per-row objects. Grows by doubling at 70% load.
 */
export class HashedIndex {
  private keys: Uint32Array;
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.keys = new Uint32Array(cap * 2);
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  get bytes(): number {
    return this.keys.byteLength + this.slots.byteLength;
  }

  private static hash(lo: number, hi: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    h ^= h >>> 15;
    return h >>> 0;
  }

  /** The slot of (lo, hi), or -1. */
  get(lo: number, hi: number): number {
    let b = HashedIndex.hash(lo, hi) & this.mask;
    for (;;) {
      const s = this.slots[b];
      if (s === -1) return -1;
      if (this.keys[2 * b] === lo && this.keys[2 * b + 1] === hi) return s;
      b = (b + 1) & this.mask;
    }
  }

  /** The slot of (lo, hi), assigning the next free slot on first sight. */
  getOrInsert(lo: number, hi: number): number {
    if ((this.size + 1) * 10 > this.capacity * 7) this.grow();
    let b = HashedIndex.hash(lo, hi) & this.mask;
    for (;;) {
      const s = this.slots[b];
      if (s === -1) {
        this.keys[2 * b] = lo;
        this.keys[2 * b + 1] = hi;
        this.slots[b] = this.size;
        return this.size++;
      }
      if (this.keys[2 * b] === lo && this.keys[2 * b + 1] === hi) return s;
      b = (b + 1) & this.mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    const cap = this.capacity * 2;
    this.keys = new Uint32Array(cap * 2);
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let i = 0; i < oldSlots.length; i++) {
      const s = oldSlots[i];
      if (s === -1) continue;
      const lo = oldKeys[2 * i];
      const hi = oldKeys[2 * i + 1];
      let b = HashedIndex.hash(lo, hi) & this.mask;
      while (this.slots[b] !== -1) b = (b + 1) & this.mask;
      this.keys[2 * b] = lo;
      this.keys[2 * b + 1] = hi;
      this.slots[b] = s;
    }
  }
}
