/**
 * The distinct words of a corpus being counted, looked up by their bytes: a dictionary pass
 * meets each word many times (455k tokens, 27k words on the fortunes corpus), and making a
 * string of every token to look it up in a Map took most of the pass. Here a token is hashed
 * and compared where it lies in the input; only a word seen for the first time becomes a
 * string (FastTextDictionary.build). Words are numbered 0, 1, … in the order first seen.
 *
 * Open addressing with linear probing over a power-of-two array of word numbers; each word's
 * bytes are copied into an arena, so a lookup compares against them whatever buffer either
 * came from.
 */
export class TokenTable {
  /** Per place: 0 empty, else a word's number + 1. */
  private places = new Int32Array(1 << 12);
  private hashes = new Uint32Array(1 << 10);
  private starts = new Int32Array(1 << 10);
  private lengths = new Int32Array(1 << 10);
  /** Each word's occurrences, by `count`. */
  private counts = new Int32Array(1 << 10);
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  /** Words so far. */
  size = 0;

  /** fastTextHash of the word last looked up (numberOf, find): a line's word n-grams need it. */
  lastHash = 0;

  /**
   * The number of the word bytes[start, end): the one it was given, or, seen for the first
   * time, the next (`size` before the call).
   */
  numberOf(bytes: Uint8Array, start: number, end: number): number {
    const p = this.placeOf(bytes, start, end);
    const held = this.places[p];
    return held === 0 ? this.insert(p, this.lastHash, bytes, start, end - start) : held - 1;
  }

  /** numberOf, counting `by` more occurrences of the word. */
  count(bytes: Uint8Array, start: number, end: number, by = 1): number {
    const w = this.numberOf(bytes, start, end);
    this.counts[w] += by;
    return w;
  }

  /** The occurrences `count` has seen of word `w`. */
  countOf(w: number): number {
    return this.counts[w];
  }

  /** The number of the word bytes[start, end), or -1 if it has none. */
  find(bytes: Uint8Array, start: number, end: number): number {
    return this.places[this.placeOf(bytes, start, end)] - 1;
  }

  /** The place holding the word bytes[start, end), or the empty one where it would go. */
  private placeOf(bytes: Uint8Array, start: number, end: number): number {
    // fastText's own hash (FNV-1a over the bytes taken as signed chars, fastTextHash), so that
    // the one pass over a token gives both its place here and its hash for the word n-grams.
    let h = 2166136261;
    for (let i = start; i < end; i++) {
      const b = bytes[i];
      h = Math.imul(h ^ (b >= 0x80 ? b | 0xffffff00 : b), 16777619);
    }
    h >>>= 0;
    this.lastHash = h;
    const mask = this.places.length - 1;
    const length = end - start;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const held = this.places[p];
      if (held === 0) return p;
      const w = held - 1;
      if (this.hashes[w] === h && this.lengths[w] === length && this.sameBytes(w, bytes, start, length)) return p;
    }
  }

  /** Forgets every word (their numbers change: FastTextDictionary's pruning re-adds the kept ones). */
  clear(): void {
    this.places.fill(0);
    this.size = 0;
    this.arenaUsed = 0;
  }

  private sameBytes(w: number, bytes: Uint8Array, start: number, length: number): boolean {
    const arena = this.arena;
    const at = this.starts[w];
    for (let i = 0; i < length; i++) if (arena[at + i] !== bytes[start + i]) return false;
    return true;
  }

  private insert(place: number, hash: number, bytes: Uint8Array, start: number, length: number): number {
    const w = this.size++;
    if (w === this.hashes.length) {
      this.hashes = grown(this.hashes, 2 * w);
      this.starts = grown(this.starts, 2 * w);
      this.lengths = grown(this.lengths, 2 * w);
      this.counts = grown(this.counts, 2 * w);
    }
    if (this.arenaUsed + length > this.arena.length) {
      this.arena = grown(this.arena, Math.max(2 * this.arena.length, this.arenaUsed + length));
    }
    // Byte by byte: a subarray of a Buffer is a Buffer, whose making cost more than the copy.
    const arena = this.arena;
    for (let i = 0; i < length; i++) arena[this.arenaUsed + i] = bytes[start + i];
    this.hashes[w] = hash;
    this.starts[w] = this.arenaUsed;
    this.lengths[w] = length;
    this.counts[w] = 0;
    this.arenaUsed += length;
    this.places[place] = w + 1;
    // At most half full, so that probes stay short.
    if (2 * this.size > this.places.length) this.rehash(2 * this.places.length);
    return w;
  }

  private rehash(capacity: number): void {
    const places = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let w = 0; w < this.size; w++) {
      let p = this.hashes[w] & mask;
      while (places[p] !== 0) p = (p + 1) & mask;
      places[p] = w + 1;
    }
    this.places = places;
  }
}

function grown<T extends Int32Array | Uint32Array | Uint8Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
