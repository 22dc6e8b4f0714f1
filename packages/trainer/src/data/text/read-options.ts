import { booleanField, configError, describe, oneOf, rejectUnknownKeys, requireObject, stringField } from '@rowshard/core';

export const TEXT_FORMATS = ['fasttext', 'jsonl', 'csv', 'tsv'] as const;
export type TextFormat = (typeof TEXT_FORMATS)[number];

/** A JSON field name, a header name (CSV/TSV with a header) or a zero-based column index (CSV/TSV). */
export type ColumnRef = string | number;

export interface ColumnMapping {
  /** Several columns are joined with single spaces, e.g. a title and a body. */
  readonly text: ColumnRef | readonly ColumnRef[];
  readonly label: ColumnRef;
}

export interface TextReadOptions {
  /** fastText: a whitespace-separated token starting with this is a label. Default '__label__'. */
  readonly labelPrefix?: string;
  /** Accept records without a label (data to predict on) instead of failing. Default false. */
  readonly allowUnlabeled?: boolean;
  /** JSONL, CSV, TSV: where text and label are. Default { text: 'text', label: 'label' }. */
  readonly columns?: ColumnMapping;
  /** CSV, TSV: the first record names the columns. Default true. */
  readonly header?: boolean;
}

export interface ResolvedReadOptions {
  readonly format: TextFormat;
  readonly labelPrefix: string;
  readonly allowUnlabeled: boolean;
  readonly textColumns: readonly ColumnRef[];
  readonly labelColumn: ColumnRef;
  readonly header: boolean;
}

export const DEFAULT_READ_OPTIONS = Object.freeze({
  labelPrefix: '__label__',
  allowUnlabeled: false,
  columns: Object.freeze({ text: 'text', label: 'label' }),
  header: true,
});

const KEYS = ['labelPrefix', 'allowUnlabeled', 'columns', 'header'] as const;

/**
 * Checks the options once, before the first line is read, so a typo in a column mapping fails
 * at start-up naming the field rather than as a data error on every line.
 */
export function resolveReadOptions(format: TextFormat, options: TextReadOptions = {}): ResolvedReadOptions {
  oneOf(format, 'format', TEXT_FORMATS);
  const raw = requireObject(options, 'options');
  rejectUnknownKeys(raw, KEYS, '');
  const d = DEFAULT_READ_OPTIONS;
  const labelPrefix = raw.labelPrefix === undefined ? d.labelPrefix : stringField(raw.labelPrefix, 'labelPrefix');
  if (/\s/.test(labelPrefix)) throw configError('labelPrefix', 'may not contain whitespace (fastText lines split on it)');
  const allowUnlabeled = raw.allowUnlabeled === undefined ? d.allowUnlabeled : booleanField(raw.allowUnlabeled, 'allowUnlabeled');
  const header = raw.header === undefined ? d.header : booleanField(raw.header, 'header');
  const columns = requireObject(raw.columns ?? d.columns, 'columns');
  rejectUnknownKeys(columns, ['text', 'label'], 'columns');
  const textRefs = Array.isArray(columns.text) ? (columns.text as unknown[]) : [columns.text];
  if (textRefs.length === 0) throw configError('columns.text', 'must name at least one column');
  const textColumns = textRefs.map((ref, i) =>
    checkRef(ref, Array.isArray(columns.text) ? `columns.text[${i}]` : 'columns.text', format, header),
  );
  const labelColumn = checkRef(columns.label, 'columns.label', format, header);
  return Object.freeze({ format, labelPrefix, allowUnlabeled, textColumns: Object.freeze(textColumns), labelColumn, header });
}

function checkRef(ref: unknown, field: string, format: TextFormat, header: boolean): ColumnRef {
  if (typeof ref === 'number') {
    if (!Number.isSafeInteger(ref) || ref < 0) {
      throw configError(field, `must be a column name or a zero-based index, got ${ref}`);
    }
    if (format === 'jsonl') throw configError(field, `JSON lines name their fields: use a field name, got ${ref}`);
    return ref;
  }
  if (typeof ref !== 'string' || ref === '') {
    throw configError(field, `must be a column name or a zero-based index, got ${describe(ref)}`);
  }
  if ((format === 'csv' || format === 'tsv') && !header) {
    throw configError(field, `names column '${ref}' but header is false: use a zero-based index`);
  }
  return ref;
}
