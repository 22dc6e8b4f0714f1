import { hasLineBreakOrTab, parseCountedList } from '@rowshard/core';
import { CountedList, rankByCount } from './counted-list.js';

/**
 * Label ↔ class id. Ordered like the vocabulary (count descending, then name) so the id of a
 * class does not depend on which file or worker saw it first; class 0 is the majority class.
 */
export class LabelSet extends CountedList {
  private constructor(entries: readonly string[], counts: readonly number[]) {
    super(entries, counts, 'label');
  }

  static build(counts: ReadonlyMap<string, number>): LabelSet {
    const labels = rankByCount(counts, 1);
    for (const label of labels) {
      if (label === '' || hasLineBreakOrTab(label)) {
        throw new RangeError(`labels must be non-empty without tabs or line breaks, got ${JSON.stringify(label)}`);
      }
    }
    return new LabelSet(
      labels,
      labels.map((label) => counts.get(label)!),
    );
  }

  /** Reads toText's form back; `file` is only for messages (`labels.txt:3: ...`). */
  static fromText(text: string, file: string): LabelSet {
    const { entries, counts } = parseCountedList(text, file, 'label', { requireCounts: true });
    return new LabelSet(entries, counts ?? []);
  }

  label(id: number): string {
    return this.entry(id);
  }

  /** All labels in id order. */
  get labels(): readonly string[] {
    return this.entries;
  }
}
