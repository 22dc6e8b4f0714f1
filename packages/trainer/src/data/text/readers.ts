import { describe, hasLineBreakOrTab } from '@rowshard/core';
import { dataError, type SourceLocation } from './data-error.js';
import { type ColumnRef, DEFAULT_READ_OPTIONS, type ResolvedReadOptions } from './read-options.js';

/**
 * One example as it stands in the file. The text is left untokenized so the tokenizer (and
 * the vocabulary built with it) can change without touching the readers. Labels come without
 * any fastText prefix, so the same class is spelled the same in every format.
 */
export interface TextRecord {
  text: string;
  labels: string[];
}

type FastTextOptions = Pick<ResolvedReadOptions, 'labelPrefix' | 'allowUnlabeled'>;
type JsonlOptions = Pick<ResolvedReadOptions, 'textColumns' | 'labelColumn' | 'allowUnlabeled'>;

const WHITESPACE = /\s+/u;

/**
 * A fastText line: labels may stand anywhere in it (fastText reads every prefixed token as a
 * label wherever it is), the rest is the text, re-joined with single spaces. Undefined for a
 * blank line.
 */
export function parseFastTextLine(
  line: string,
  at: SourceLocation,
  options: FastTextOptions = DEFAULT_READ_OPTIONS,
): TextRecord | undefined {
  const words = line.split(WHITESPACE).filter((w) => w !== '');
  if (words.length === 0) return undefined;
  const prefix = options.labelPrefix;
  const labels: string[] = [];
  const text: string[] = [];
  for (const word of words) {
    if (!word.startsWith(prefix)) {
      text.push(word);
      continue;
    }
    if (word.length === prefix.length) throw dataError(at, 'label', `label '${word}' has no name after the prefix`);
    labels.push(word.slice(prefix.length));
  }
  if (labels.length === 0 && !options.allowUnlabeled) {
    throw dataError(at, 'label', `no label: a training line needs at least one '${prefix}…' token`);
  }
  return { text: text.join(' '), labels };
}

/** A JSON-lines record; undefined for a blank line. */
export function parseJsonlLine(line: string, at: SourceLocation, options: JsonlOptions): TextRecord | undefined {
  if (line.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw dataError(at, undefined, `invalid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw dataError(at, undefined, `expected a JSON object, got ${describe(value)}`);
  }
  const obj = value as Record<string, unknown>;
  const parts = options.textColumns.map((ref) => {
    const name = String(ref);
    const v = Object.hasOwn(obj, name) ? obj[name] : undefined;
    if (v === undefined) throw dataError(at, name, `text field '${name}' is missing`);
    if (typeof v !== 'string') throw dataError(at, name, `text field '${name}' must be a string, got ${describe(v)}`);
    return v;
  });
  const labelName = String(options.labelColumn);
  const labelValue = Object.hasOwn(obj, labelName) ? obj[labelName] : undefined;
  const labels = jsonLabels(labelValue, labelName, at);
  if (labels.length === 0 && !options.allowUnlabeled) {
    throw dataError(
      at,
      labelName,
      labelValue == null ? `label field '${labelName}' is missing` : `label field '${labelName}' is empty`,
    );
  }
  return { text: parts.join(' '), labels };
}

/** null counts as missing: exporters often write absent values as null. */
function jsonLabels(value: unknown, field: string, at: SourceLocation): string[] {
  if (value === undefined || value === null) return [];
  const one = (v: unknown, where: string): string => {
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v !== 'string') {
      throw dataError(at, field, `label ${where} must be a string, a number or an array of those, got ${describe(v)}`);
    }
    return checkLabel(v, field, where, at);
  };
  if (Array.isArray(value)) return value.map((v, i) => one(v, `field '${field}'[${i}]`));
  return [one(value, `field '${field}'`)];
}

/** Labels end up one per line in the label file, and an empty one is almost always a mistake. */
function checkLabel(label: string, field: string, where: string, at: SourceLocation, column?: number): string {
  if (label === '') throw dataError(at, field, `label ${where} is empty`, column);
  if (hasLineBreakOrTab(label)) throw dataError(at, field, `label ${where} may not contain a tab or a line break`, column);
  return label;
}

/** A TSV line: tabs separate, nothing is quoted (a tab or newline cannot occur inside a field). */
export function splitTsvLine(line: string): string[] {
  return line.split('\t');
}

/** The CSV/TSV column mapping with every reference turned into a zero-based index. */
export interface ResolvedColumns {
  readonly text: readonly ResolvedColumn[];
  /** Undefined when the header has no label column and unlabeled records are allowed. */
  readonly label: ResolvedColumn | undefined;
}

export interface ResolvedColumn {
  readonly ref: ColumnRef;
  readonly index: number;
}

/**
 * Looks the mapping up in the header (when there is one). `at` is the header's location: a
 * column that is not there is a fault of the file, named where the reader would look for it.
 */
export function resolveColumns(
  options: Pick<ResolvedReadOptions, 'textColumns' | 'labelColumn' | 'allowUnlabeled'>,
  header: readonly string[] | undefined,
  at: SourceLocation,
): ResolvedColumns {
  const find = (ref: ColumnRef, role: string, optional: boolean): ResolvedColumn | undefined => {
    if (typeof ref === 'number') return { ref, index: ref };
    const index = header ? header.indexOf(ref) : -1;
    if (index < 0) {
      if (optional) return undefined;
      const found = header ? header.map((h) => `'${h}'`).join(', ') : 'no header';
      throw dataError(at, ref, `${role} column '${ref}' is not in the header (found: ${found})`);
    }
    if (header!.indexOf(ref, index + 1) >= 0) throw dataError(at, ref, `${role} column '${ref}' appears twice in the header`);
    return { ref, index };
  };
  return {
    text: options.textColumns.map((ref) => find(ref, 'text', false)!),
    label: find(options.labelColumn, 'label', options.allowUnlabeled),
  };
}

/** The record in one CSV/TSV row. */
export function recordFromFields(
  fields: readonly string[],
  columns: ResolvedColumns,
  at: SourceLocation,
  allowUnlabeled: boolean,
): TextRecord {
  const cell = (column: ResolvedColumn, role: string): string => {
    if (column.index >= fields.length) {
      throw dataError(
        at,
        String(column.ref),
        `${role} column ${columnName(column)} is missing: the row has ${fields.length} field${fields.length === 1 ? '' : 's'}`,
        column.index,
      );
    }
    return fields[column.index];
  };
  const text = columns.text.map((c) => cell(c, 'text')).join(' ');
  const label = columns.label ? cell(columns.label, 'label') : '';
  if (label === '') {
    if (!allowUnlabeled) {
      const name = columns.label ? columnName(columns.label) : '';
      throw dataError(
        at,
        columns.label ? String(columns.label.ref) : 'label',
        `label column ${name} is empty`,
        columns.label?.index,
      );
    }
    return { text, labels: [] };
  }
  return {
    text,
    labels: [checkLabel(label, String(columns.label!.ref), `column ${columnName(columns.label!)}`, at, columns.label!.index)],
  };
}

function columnName(column: ResolvedColumn): string {
  return typeof column.ref === 'number' ? String(column.ref) : `'${column.ref}' (index ${column.index})`;
}
