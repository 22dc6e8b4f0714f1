import { formatCountedList } from '@rowshard/core';

/**
 * The base of Vocabulary and LabelSet: strings numbered 0..n-1 with a count each, and their
 * text form, one `entry\tcount` line per id (core's formats/vocabulary-text, which `export`,
 * `similar` and pretrained tables read too). A plain text file diffs, greps and can be edited
 * by hand, and line i+1 holding id i makes an id easy to look up. Subclasses add the
 * domain-named accessors (`word(id)`, `label(id)`) and how the list is built.
 */
export abstract class CountedList {
  private readonly index = new Map<string, number>();

  /** `what` names an entry in messages ('word', 'label'). */
  protected constructor(
    readonly entries: readonly string[],
    readonly counts: readonly number[],
    private readonly what: string,
  ) {
    entries.forEach((entry, id) => this.index.set(entry, id));
  }

  get size(): number {
    return this.entries.length;
  }

  id(entry: string): number | undefined {
    return this.index.get(entry);
  }

  protected entry(id: number): string {
    return this.entries[this.checkId(id)];
  }

  count(id: number): number {
    return this.counts[this.checkId(id)];
  }

  toText(): string {
    return formatCountedList(this.entries, this.counts);
  }

  /** An id outside the list is the caller's bug, not bad data, hence a RangeError. */
  private checkId(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.entries.length) {
      throw new RangeError(`${this.what} id ${id} is out of range [0, ${this.entries.length})`);
    }
    return id;
  }
}

/**
 * Entries with count >= minCount, most frequent first; equal counts in code-unit order, so the
 * same counts give the same ids on every machine, whatever order the counts were gathered in.
 */
export function rankByCount(counts: ReadonlyMap<string, number>, minCount: number): string[] {
  const kept: string[] = [];
  for (const [entry, count] of counts) if (count >= minCount) kept.push(entry);
  return kept.sort((a, b) => {
    const byCount = counts.get(b)! - counts.get(a)!;
    if (byCount !== 0) return byCount;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}
