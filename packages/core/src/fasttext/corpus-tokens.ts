/** Tokens a dictionary pass keeps of a corpus (128 MiB of ids); a longer one is read again by line. */
export const MAX_KEPT_TOKENS = 1 << 25;

/**
 * The corpus as FastTextDictionary.build read it: each token as the index of its word among the
 * words in the order first seen, so that its lines can be read again without the text
 * (keptLines, dictionary-lines.ts).
 */
export interface KeptText {
  readonly tokens: Int32Array;
  readonly count: number;
  /** The words, in the order first seen. */
  readonly words: readonly string[];
  /** Whether bytes follow the last \n: a last line (perhaps only spaces) that a reading by line gives. */
  readonly unterminated: boolean;
}

/**
 * Records a corpus's tokens while its dictionary is counted, up to `limit` of them; past the
 * limit, or once dropped (the entries it names moved, a line it would split wrong), it keeps
 * nothing and the corpus is read again by line.
 */
export class TokenRecorder {
  private tokens: Int32Array | null;
  private count = 0;

  constructor(private readonly limit: number) {
    this.tokens = new Int32Array(Math.min(1024, limit));
  }

  /** Records one token: the index of its dictionary entry. */
  push(at: number): void {
    const full = this.tokens;
    if (!full) return;
    let tokens = full;
    if (this.count === full.length) {
      if (this.count >= this.limit) {
        this.tokens = null;
        return;
      }
      tokens = new Int32Array(Math.min(2 * this.count, this.limit));
      tokens.set(full);
      this.tokens = tokens;
    }
    tokens[this.count++] = at;
  }

  drop(): void {
    this.tokens = null;
  }

  /** The corpus kept (null if dropped), given its words in the order first seen and its bytes. */
  kept(firstSeen: () => readonly string[], bytes: Uint8Array): KeptText | null {
    if (!this.tokens) return null;
    const unterminated = bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a;
    return { tokens: this.tokens, count: this.count, words: firstSeen(), unterminated };
  }
}
