import { configError, hasLineBreakOrTab, optional, parseCountedList, positiveInt } from '@rowshard/core';
import { CountedList, rankByCount } from './counted-list.js';

export interface VocabularyOptions {
  /** Words seen fewer times are left out (they map to no id; the caller picks `<unk>` or drops them). */
  readonly minCount?: number;
  /** Tokens with fixed ids 0..r-1 ahead of every word, e.g. ['<pad>', '<unk>']; their count is 0. */
  readonly reserved?: readonly string[];
  /** Most ids in all, reserved included, so it can be an embedding table's row count. */
  readonly maxSize?: number;
}

/**
 * Word ↔ id. Ids are a pure function of the counts (reserved first, then count descending,
 * ties by code-unit order), so every trainer that counts the same corpus agrees on them without
 * exchanging the vocabulary, and frequent words get small ids.
 */
export class Vocabulary extends CountedList {
  private constructor(entries: readonly string[], counts: readonly number[]) {
    super(entries, counts, 'word');
  }

  static build(counts: ReadonlyMap<string, number>, options: VocabularyOptions = {}): Vocabulary {
    const minCount = optional(options.minCount, 1, (v) => positiveInt(v, 'minCount'));
    const reserved = options.reserved ?? [];
    const maxSize = optional(options.maxSize, Number.MAX_SAFE_INTEGER, (v) => positiveInt(v, 'maxSize'));
    const seen = new Set<string>();
    reserved.forEach((token, i) => {
      if (typeof token !== 'string' || token === '' || hasLineBreakOrTab(token)) {
        throw configError(`reserved[${i}]`, 'must be a non-empty string without tabs or line breaks');
      }
      if (seen.has(token)) throw configError(`reserved[${i}]`, `'${token}' is listed twice`);
      seen.add(token);
    });
    if (maxSize < reserved.length) {
      throw configError('maxSize', `must leave room for the ${reserved.length} reserved tokens, got ${maxSize}`);
    }
    const words = [...reserved];
    const wordCounts: number[] = reserved.map(() => 0);
    for (const word of rankByCount(counts, minCount)) {
      if (words.length >= maxSize) break;
      // A reserved token that also occurs as text keeps its reserved id.
      if (seen.has(word)) continue;
      if (word === '' || hasLineBreakOrTab(word)) {
        throw new RangeError(`vocabulary words must be non-empty without tabs or line breaks, got ${JSON.stringify(word)}`);
      }
      words.push(word);
      wordCounts.push(counts.get(word)!);
    }
    return new Vocabulary(words, wordCounts);
  }

  /** Reads toText's form back; `file` is only for messages (`vocab.txt:3: ...`). */
  static fromText(text: string, file: string): Vocabulary {
    const { entries, counts } = parseCountedList(text, file, 'word', { requireCounts: true });
    return new Vocabulary(entries, counts ?? []);
  }

  word(id: number): string {
    return this.entry(id);
  }

  /** All words in id order. */
  get words(): readonly string[] {
    return this.entries;
  }
}
