import { dataError } from './data-error.js';

/**
 * The base of Vocabulary and LabelSet: strings numbered 0..n-1 with a count each, and their
 * text form, one `entry\tcount` line per id. A plain text file diffs, greps and can be edited
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
    let text = '';
    for (let id = 0; id < this.entries.length; id++) text += `${this.entries[id]}\t${this.counts[id]}\n`;
    return text;
  }

  /** An id outside the list is the caller's bug, not bad data, hence a RangeError. */
  private checkId(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.entries.length) {
      throw new RangeError(`${this.what} id ${id} is out of range [0, ${this.entries.length})`);
    }
    return id;
  }
}

/** Tab and newline would break the one-line-per-id text form, so no entry may hold them. */
export function hasLineBreakOrTab(entry: string): boolean {
  return /[\t\n\r]/.test(entry);
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

/**
 * Parses the text form. `what` names an entry in messages ('word', 'label'). Ids follow line
 * order; a trailing newline (as toText writes) is optional and Windows line ends are accepted.
 */
export function parseCountedList(text: string, file: string, what: string): { entries: string[]; counts: number[] } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const entries: string[] = [];
  const counts: number[] = [];
  const seen = new Map<string, number>();
  lines.forEach((raw, i) => {
    const at = { file, line: i + 1 };
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const tab = line.indexOf('\t');
    if (tab < 0) throw dataError(at, 'count', `expected '${what}<TAB>count', found no tab`);
    const entry = line.slice(0, tab);
    const countText = line.slice(tab + 1);
    if (entry === '') throw dataError(at, what, `field '${what}' is empty`);
    if (countText.includes('\t')) throw dataError(at, what, `field '${what}' may not contain a tab (found a second one)`);
    if (hasLineBreakOrTab(entry)) throw dataError(at, what, `field '${what}' may not contain a carriage return`);
    if (!/^\d+$/.test(countText) || !Number.isSafeInteger(Number(countText))) {
      throw dataError(at, 'count', `field 'count' must be a non-negative integer, got ${JSON.stringify(countText)}`);
    }
    const earlier = seen.get(entry);
    if (earlier !== undefined) throw dataError(at, what, `${what} ${JSON.stringify(entry)} repeats line ${earlier}`);
    seen.set(entry, at.line);
    entries.push(entry);
    counts.push(Number(countText));
  });
  return { entries, counts };
}
