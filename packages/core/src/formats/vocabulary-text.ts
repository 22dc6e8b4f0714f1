import { ErrorCodes, RowshardError } from '../errors.js';

/**
 * The one text form of a vocabulary (and of a label set): line i+1 holds entry i, as
 * `entry<TAB>count`. Training writes it (`vocab.txt`, `labels.txt`); the trainers, `export`,
 * `similar` and pretrained tables read it through this module. A list written by hand or by
 * another tool, one word per line with no counts, reads too: every line then lacks a tab,
 * and the counts are null. Entries may not hold tabs or line breaks; a trailing newline is
 * optional and Windows line ends are accepted.
 */
export interface CountedListText {
  readonly entries: string[];
  /** Null for a plain list (one entry per line, no counts). */
  readonly counts: number[] | null;
}

/** Tab and newline would break the one-line-per-id text form, so no entry may hold them. */
export function hasLineBreakOrTab(entry: string): boolean {
  return /[\t\n\r]/.test(entry);
}

export function formatCountedList(entries: readonly string[], counts: readonly number[]): string {
  let text = '';
  for (let id = 0; id < entries.length; id++) text += `${entries[id]}\t${counts[id]}\n`;
  return text;
}

function lineError(file: string, line: number, field: string, message: string): RowshardError {
  return new RowshardError(ErrorCodes.BAD_DATA, `${file}:${line}: ${message}`, { file, line, field });
}

/**
 * Parses the text form. `what` names an entry in messages ('word', 'label'). With
 * `requireCounts` a line without a tab is an error (files rowshard wrote itself); otherwise
 * the file is either all `entry<TAB>count` lines or all bare entries, never a mix.
 */
export function parseCountedList(
  text: string,
  file: string,
  what: string,
  options: { requireCounts?: boolean } = {},
): CountedListText {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const entries: string[] = [];
  const counts: number[] = [];
  const seen = new Map<string, number>();
  let counted = (options.requireCounts ? true : null) as boolean | null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = i + 1;
    const body = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const tab = body.indexOf('\t');
    counted ??= tab >= 0;
    if (counted && tab < 0) {
      throw lineError(
        file,
        line,
        'count',
        options.requireCounts || line === 1
          ? `expected '${what}<TAB>count', found no tab`
          : `expected '${what}<TAB>count' like line 1, found no tab`,
      );
    }
    if (!counted && tab >= 0) {
      throw lineError(file, line, what, `expected one ${what} per line like line 1, found a tab`);
    }
    const entry = counted ? body.slice(0, tab) : body;
    if (entry === '') throw lineError(file, line, what, `field '${what}' is empty`);
    if (counted) {
      const countText = body.slice(tab + 1);
      if (countText.includes('\t'))
        throw lineError(file, line, what, `field '${what}' may not contain a tab (found a second one)`);
      if (!/^\d+$/.test(countText) || !Number.isSafeInteger(Number(countText))) {
        throw lineError(file, line, 'count', `field 'count' must be a non-negative integer, got ${JSON.stringify(countText)}`);
      }
      counts.push(Number(countText));
    }
    if (hasLineBreakOrTab(entry)) throw lineError(file, line, what, `field '${what}' may not contain a carriage return`);
    const earlier = seen.get(entry);
    if (earlier !== undefined) throw lineError(file, line, what, `${what} ${JSON.stringify(entry)} repeats line ${earlier}`);
    seen.set(entry, line);
    entries.push(entry);
  }
  return { entries, counts: counted === false ? null : counts };
}

/** The words of a vocabulary file, line i = row i, in either form (see parseCountedList). */
export function parseVocabulary(text: string, file: string): string[] {
  return parseCountedList(text, file, 'word').entries;
}
