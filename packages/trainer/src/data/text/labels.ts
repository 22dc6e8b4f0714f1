import { CountedList, hasLineBreakOrTab, parseCountedList, rankByCount } from './counted-list.js';

/**
 * Label ↔ class id. Ordered like the vocabulary (count descending, then name) so the id of a
 * class does not depend on which file or worker saw it first; class 0 is the majority class.
 */
export class LabelSet {
  private constructor(private readonly list: CountedList) {}

  static build(counts: ReadonlyMap<string, number>): LabelSet {
    const labels = rankByCount(counts, 1);
    for (const label of labels) {
      if (label === '' || hasLineBreakOrTab(label)) {
        throw new RangeError(`labels must be non-empty without tabs or line breaks, got ${JSON.stringify(label)}`);
      }
    }
    return new LabelSet(
      new CountedList(
        labels,
        labels.map((label) => counts.get(label)!),
      ),
    );
  }

  /** Reads toText's form back; `file` is only for messages (`labels.txt:3: ...`). */
  static fromText(text: string, file: string): LabelSet {
    return new LabelSet(parseCountedList(text, file, 'label'));
  }

  get size(): number {
    return this.list.size;
  }

  id(label: string): number | undefined {
    return this.list.id(label);
  }

  label(id: number): string {
    return this.list.entry(id, 'label');
  }

  count(id: number): number {
    return this.list.count(id, 'label');
  }

  /** All labels in id order. */
  get labels(): readonly string[] {
    return this.list.entries;
  }

  /** One `label\tcount\n` line per id, in id order. */
  toText(): string {
    return this.list.toText();
  }
}
