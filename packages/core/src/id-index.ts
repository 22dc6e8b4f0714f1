/**
 * Positions of distinct ids: build once from a list of distinct ids, then look ids up in
 * O(1). Open addressing over typed arrays; used to find a looked-up id among the rows a
 * trainer pulled for its batch.
 */
export class IdIndex {
  private readonly keys: Float64Array;
  private readonly positions: Int32Array;
  private readonly mask: number;

  constructor(distinctIds: ArrayLike<number>) {
    let cap = 16;
    while (cap < distinctIds.length * 2) cap <<= 1;
    this.keys = new Float64Array(cap);
    this.positions = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let i = 0; i < distinctIds.length; i++) {
      const id = distinctIds[i];
      let b = this.bucket(id);
      while (this.positions[b] !== -1) {
        if (this.keys[b] === id) throw new RangeError(`IdIndex: id ${id} given twice`);
        b = (b + 1) & this.mask;
      }
      this.keys[b] = id;
      this.positions[b] = i;
    }
  }

  private bucket(id: number): number {
    return (Math.imul((id >>> 0) ^ Math.floor(id / 4294967296), 0x9e3779b1) >>> 0) & this.mask;
  }

  /** Position of id in the list it was built from, or -1. */
  indexOf(id: number): number {
    let b = this.bucket(id);
    for (;;) {
      const p = this.positions[b];
      if (p === -1) return -1;
      if (this.keys[b] === id) return p;
      b = (b + 1) & this.mask;
    }
  }
}
