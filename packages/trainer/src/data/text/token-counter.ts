/**
 * Counts tokens over a corpus pass, for Vocabulary.build. Kept apart from the vocabulary so
 * counts from several files or workers can be gathered first and merged before ids are fixed.
 */
export class TokenCounter {
  readonly counts = new Map<string, number>();
  private total = 0;

  add(tokens: Iterable<string>): void {
    for (const token of tokens) {
      this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
      this.total++;
    }
  }

  /** Adds another counter's counts (a shard counted elsewhere). */
  merge(other: TokenCounter): void {
    for (const [token, count] of other.counts) this.counts.set(token, (this.counts.get(token) ?? 0) + count);
    this.total += other.total;
  }

  /** Tokens seen, repeats included. */
  get totalTokens(): number {
    return this.total;
  }
}
