/**
 * Open addressing (linear probing) from 64-bit row ids, held as (lo, hi) uint32 halves, to
 * dense local slots 0, 1, 2, ... in order of first touch. Keys and slots live in typed
 * arrays: 12 bytes per bucket, no per-row objects. Grows by doubling at 70% load.
 *
 * An id can be removed (eviction): its bucket is emptied by backward-shift deletion (no
 * tombstones, so probes stay short however many ids come and go) and its slot goes on a
 * free stack that the next new id takes from, last freed first. The slots an id gets thus
 * depend only on the order of inserts and removals, which callers keep deterministic.
 */
export class HashedIndex {
  private keys: Uint32Array;
  private slots: Int32Array;
  private mask: number;
  /** Ids held now. */
  size = 0;
  /** Slots ever handed out: every slot is below this. */
  slotsUsed = 0;
  private free = new Int32Array(16);
  private freeCount = 0;

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
    return this.keys.byteLength + this.slots.byteLength + this.free.byteLength;
  }

  static hash(lo: number, hi: number): number {
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

  /** The slot of (lo, hi), assigning a free slot (a freed one first) on first sight. */
  getOrInsert(lo: number, hi: number): number {
    if ((this.size + 1) * 10 > this.capacity * 7) this.grow();
    let b = HashedIndex.hash(lo, hi) & this.mask;
    for (;;) {
      const s = this.slots[b];
      if (s === -1) {
        const slot = this.freeCount > 0 ? this.free[--this.freeCount] : this.slotsUsed++;
        this.keys[2 * b] = lo;
        this.keys[2 * b + 1] = hi;
        this.slots[b] = slot;
        this.size++;
        return slot;
      }
      if (this.keys[2 * b] === lo && this.keys[2 * b + 1] === hi) return s;
      b = (b + 1) & this.mask;
    }
  }

  /** Removes (lo, hi); returns the slot it held (now free for the next new id), or -1. */
  remove(lo: number, hi: number): number {
    const mask = this.mask;
    let b = HashedIndex.hash(lo, hi) & mask;
    for (;;) {
      const s = this.slots[b];
      if (s === -1) return -1;
      if (this.keys[2 * b] === lo && this.keys[2 * b + 1] === hi) break;
      b = (b + 1) & mask;
    }
    const slot = this.slots[b];
    // Backward-shift: pull later entries of the probe run into the hole when their home allows it.
    let hole = b;
    let j = b;
    for (;;) {
      j = (j + 1) & mask;
      const s = this.slots[j];
      if (s === -1) break;
      const home = HashedIndex.hash(this.keys[2 * j], this.keys[2 * j + 1]) & mask;
      // Entry j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      this.keys[2 * hole] = this.keys[2 * j];
      this.keys[2 * hole + 1] = this.keys[2 * j + 1];
      this.slots[hole] = s;
      hole = j;
    }
    this.slots[hole] = -1;
    this.size--;
    if (this.freeCount === this.free.length) {
      const bigger = new Int32Array(this.free.length * 2);
      bigger.set(this.free);
      this.free = bigger;
    }
    this.free[this.freeCount++] = slot;
    return slot;
  }

  /** Forgets every id and slot. */
  clear(): void {
    this.slots.fill(-1);
    this.size = 0;
    this.slotsUsed = 0;
    this.freeCount = 0;
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
