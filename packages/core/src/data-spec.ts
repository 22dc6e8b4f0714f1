import { configError } from './errors.js';
import { jobDefaults } from './job-defaults.js';
import {
  booleanField,
  nonNegativeInt,
  numberInRange,
  oneOf,
  optional,
  positiveInt,
  rejectUnknownKeys,
  requireObject,
  stringField,
} from './validate.js';

export type DataSpec =
  | { readonly kind: 'fixture'; readonly path: string }
  | {
      readonly kind: 'synthetic_text';
      readonly vocabSize: number;
      readonly seqLen: number;
      readonly numClasses: number;
      readonly zipfS: number;
      readonly seed: number;
      /** first_token_parity: the anchor benchmark's label; signal_tokens: a planted, learnable rule. */
      readonly rule: 'first_token_parity' | 'signal_tokens';
      /** Cycle the first n global batches (the PyTorch anchor cycles 50); 0 = a fresh batch every step. */
      readonly repeatBatches: number;
    }
  | SyntheticCtrSpec
  | CtrFileSpec
  | FileDataSpec;

/**
 * Click-through examples from a file, for the `ctr` model: Criteo's TSV (label, `numDense`
 * integer columns, `numCategorical` hex columns; empty fields allowed) or JSONL with named
 * fields (`fields: { label, dense: [...], categorical: [...] }`). Read whole into memory;
 * global batch t is examples [t·B, (t+1)·B), wrapping at the end of the file.
 */
export interface CtrFileSpec {
  readonly kind: 'ctr_file';
  readonly path: string;
  readonly format: 'criteo' | 'jsonl';
  readonly numDense: number;
  readonly numCategorical: number;
  readonly fields: { readonly label: string; readonly dense: readonly string[]; readonly categorical: readonly string[] } | null;
}

/**
 * Generated click-through data in Criteo's layout: `numDense` float features and
 * `numCategorical` categorical features whose values are raw 64-bit ids (`featureId`), zipf
 * distributed over `vocabSize` values each, and a 0/1 click drawn from a planted logistic
 * model (a few dense weights and an effect for each of the frequent values of the first
 * features), so a model can learn it and a held-out AUC measures how well.
 */
export interface SyntheticCtrSpec {
  readonly kind: 'synthetic_ctr';
  readonly numDense: number;
  readonly numCategorical: number;
  readonly vocabSize: number;
  readonly zipfS: number;
  readonly seed: number;
}

/**
 * Examples from a text file, streamed (files larger than memory are fine). `rowshard train`
 * makes one pass first to build the vocabulary and label set (written beside the run) and to
 * count the examples; the roles then read `vocabFile`, `labelsFile` and `examples`.
 */
export interface FileDataSpec {
  readonly kind: 'file';
  readonly path: string;
  readonly format: 'fasttext' | 'jsonl' | 'csv' | 'tsv';
  /** JSONL/CSV/TSV: which field or column holds the text and which the label. */
  readonly columns: { readonly text: string | number | readonly (string | number)[]; readonly label: string | number } | null;
  readonly header: boolean;
  /**
   * 'bag': word ids + hashed n-gram buckets (fastText's features over rowshard's tokeniser);
   * 'sequence': padded [B, seqLen] word ids; 'fasttext': fastText's own tokeniser, dictionary,
   * character n-grams and hashing, bit for bit (what `rowshard supervised` trains, so that its
   * model is a fastText .bin); 'fasttext_skipgram' and 'fasttext_cbow': the same, as fastText's
   * word-vector training reads it (windows of `ws`, `neg` negatives, subsampling by `t`).
   */
  readonly features: 'bag' | 'sequence' | 'fasttext' | 'fasttext_skipgram' | 'fasttext_cbow';
  /** 'fasttext' features: a .vec file whose words join the dictionary, as fastText's -pretrainedVectors. */
  readonly pretrainedVectors: string | null;
  /** fastText word vectors: the largest context window (fastText's -ws). */
  readonly ws: number;
  /** fastText word vectors: negatives per target (fastText's -neg). */
  readonly neg: number;
  /** fastText word vectors: the subsampling threshold (fastText's -t). */
  readonly t: number;
  readonly seqLen: number;
  readonly wordNgrams: number;
  readonly buckets: number;
  readonly minCount: number;
  /** 'fasttext' features: labels seen fewer times are dropped (fastText's -minCountLabel). */
  readonly minCountLabel: number;
  /** 'fasttext' features: character n-gram lengths (fastText's -minn, -maxn; maxn 0: none). */
  readonly minn: number;
  readonly maxn: number;
  /** 'fasttext' features: the label prefix (fastText's -label). */
  readonly label: string;
  readonly maxVocab: number | null;
  /** Examples held by the shuffling buffer (0: file order). */
  readonly shuffleBuffer: number;
  readonly seed: number;
  readonly vocabFile: string | null;
  readonly labelsFile: string | null;
  readonly examples: number | null;
  /** 'fasttext' features: the examples tokenised by the dictionary pass (encodeExamples), when the file is small enough. */
  readonly examplesFile: string | null;
}

export function parseDataSpec(value: unknown, field = 'data'): DataSpec {
  const obj = requireObject(value, field);
  const kind = oneOf(obj.kind, `${field}.kind`, ['fixture', 'synthetic_text', 'synthetic_ctr', 'ctr_file', 'file'] as const);
  if (kind === 'file') return parseFileDataSpec(obj, field);
  if (kind === 'synthetic_ctr') return parseSyntheticCtrSpec(obj, field);
  if (kind === 'ctr_file') return parseCtrFileSpec(obj, field);
  if (kind === 'fixture') {
    rejectUnknownKeys(obj, ['kind', 'path'], field);
    return { kind, path: stringField(obj.path, `${field}.path`) };
  }
  rejectUnknownKeys(obj, ['kind', 'vocabSize', 'seqLen', 'numClasses', 'zipfS', 'seed', 'rule', 'repeatBatches'], field);
  const vocabSize = positiveInt(obj.vocabSize, `${field}.vocabSize`);
  if (vocabSize < 2) throw configError(`${field}.vocabSize`, 'must be at least 2 (id 0 is padding)');
  const d = jobDefaults.data.synthetic_text;
  return {
    kind,
    vocabSize,
    seqLen: positiveInt(obj.seqLen, `${field}.seqLen`),
    numClasses: optional(obj.numClasses, d.numClasses, (v) => positiveInt(v, `${field}.numClasses`)),
    zipfS: optional(obj.zipfS, d.zipfS, (v) => numberInRange(v, `${field}.zipfS`, 0, 10, { minExclusive: true })),
    seed: optional(obj.seed, d.seed, (v) => nonNegativeInt(v, `${field}.seed`)),
    rule: optional(obj.rule, d.rule, (v) => oneOf(v, `${field}.rule`, ['first_token_parity', 'signal_tokens'] as const)),
    repeatBatches: optional(obj.repeatBatches, d.repeatBatches, (v) => nonNegativeInt(v, `${field}.repeatBatches`)),
  };
}

function parseFileDataSpec(obj: Record<string, unknown>, field: string): FileDataSpec {
  rejectUnknownKeys(
    obj,
    [
      'kind',
      'path',
      'format',
      'columns',
      'header',
      'features',
      'seqLen',
      'wordNgrams',
      'buckets',
      'minCount',
      'minCountLabel',
      'minn',
      'maxn',
      'label',
      'pretrainedVectors',
      'ws',
      'neg',
      't',
      'maxVocab',
      'shuffleBuffer',
      'seed',
      'vocabFile',
      'labelsFile',
      'examples',
      'examplesFile',
    ],
    field,
  );
  const d = jobDefaults.data.file;
  const format = optional(obj.format, d.format, (v) => oneOf(v, `${field}.format`, ['fasttext', 'jsonl', 'csv', 'tsv'] as const));
  let columns = d.columns;
  if (obj.columns !== undefined && obj.columns !== null) {
    const c = requireObject(obj.columns, `${field}.columns`);
    rejectUnknownKeys(c, ['text', 'label'], `${field}.columns`);
    const ref = (v: unknown, f: string): string | number => {
      if (typeof v === 'string' && v !== '') return v;
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
      throw configError(f, `must be a field name or a zero-based column index, got ${JSON.stringify(v)}`);
    };
    const text = Array.isArray(c.text)
      ? c.text.map((t, i) => ref(t, `${field}.columns.text[${i}]`))
      : ref(c.text, `${field}.columns.text`);
    columns = { text, label: ref(c.label, `${field}.columns.label`) };
  } else if (format !== 'fasttext') {
    throw configError(
      `${field}.columns`,
      `is required for ${format} data: { text: <field or column>, label: <field or column> }`,
    );
  }
  return {
    kind: 'file',
    path: stringField(obj.path, `${field}.path`),
    format,
    columns,
    header: optional(obj.header, d.header, (v) => booleanField(v, `${field}.header`)),
    features: optional(obj.features, d.features, (v) =>
      oneOf(v, `${field}.features`, ['bag', 'sequence', 'fasttext', 'fasttext_skipgram', 'fasttext_cbow'] as const),
    ),
    seqLen: optional(obj.seqLen, d.seqLen, (v) => positiveInt(v, `${field}.seqLen`)),
    wordNgrams: optional(obj.wordNgrams, d.wordNgrams, (v) => positiveInt(v, `${field}.wordNgrams`)),
    buckets: optional(obj.buckets, d.buckets, (v) => nonNegativeInt(v, `${field}.buckets`)),
    minCount: optional(obj.minCount, d.minCount, (v) => positiveInt(v, `${field}.minCount`)),
    minCountLabel: optional(obj.minCountLabel, d.minCountLabel, (v) => nonNegativeInt(v, `${field}.minCountLabel`)),
    minn: optional(obj.minn, d.minn, (v) => nonNegativeInt(v, `${field}.minn`)),
    maxn: optional(obj.maxn, d.maxn, (v) => nonNegativeInt(v, `${field}.maxn`)),
    label: optional(obj.label, d.label, (v) => stringField(v, `${field}.label`)),
    pretrainedVectors: optional(obj.pretrainedVectors, d.pretrainedVectors, (v) => stringField(v, `${field}.pretrainedVectors`)),
    ws: optional(obj.ws, d.ws, (v) => positiveInt(v, `${field}.ws`)),
    neg: optional(obj.neg, d.neg, (v) => positiveInt(v, `${field}.neg`)),
    t: optional(obj.t, d.t, (v) => numberInRange(v, `${field}.t`, 0, 1)),
    maxVocab: optional(obj.maxVocab, d.maxVocab, (v) => positiveInt(v, `${field}.maxVocab`)),
    shuffleBuffer: optional(obj.shuffleBuffer, d.shuffleBuffer, (v) => nonNegativeInt(v, `${field}.shuffleBuffer`)),
    seed: optional(obj.seed, d.seed, (v) => nonNegativeInt(v, `${field}.seed`)),
    vocabFile: optional(obj.vocabFile, d.vocabFile, (v) => stringField(v, `${field}.vocabFile`)),
    labelsFile: optional(obj.labelsFile, d.labelsFile, (v) => stringField(v, `${field}.labelsFile`)),
    examples: optional(obj.examples, d.examples, (v) => positiveInt(v, `${field}.examples`)),
    examplesFile: optional(obj.examplesFile, d.examplesFile, (v) => stringField(v, `${field}.examplesFile`)),
  };
}

function parseSyntheticCtrSpec(obj: Record<string, unknown>, field: string): SyntheticCtrSpec {
  rejectUnknownKeys(obj, ['kind', 'numDense', 'numCategorical', 'vocabSize', 'zipfS', 'seed'], field);
  const d = jobDefaults.data.synthetic_ctr;
  return {
    kind: 'synthetic_ctr',
    numDense: optional(obj.numDense, d.numDense, (v) => nonNegativeInt(v, `${field}.numDense`)),
    numCategorical: optional(obj.numCategorical, d.numCategorical, (v) => positiveInt(v, `${field}.numCategorical`)),
    vocabSize: positiveInt(obj.vocabSize, `${field}.vocabSize`),
    zipfS: optional(obj.zipfS, d.zipfS, (v) => numberInRange(v, `${field}.zipfS`, 0, 10, { minExclusive: true })),
    seed: optional(obj.seed, d.seed, (v) => nonNegativeInt(v, `${field}.seed`)),
  };
}

function parseCtrFileSpec(obj: Record<string, unknown>, field: string): CtrFileSpec {
  rejectUnknownKeys(obj, ['kind', 'path', 'format', 'numDense', 'numCategorical', 'fields'], field);
  const d = jobDefaults.data.ctr_file;
  const path = stringField(obj.path, `${field}.path`);
  const format = optional(obj.format, d.format, (v) => oneOf(v, `${field}.format`, ['criteo', 'jsonl'] as const));
  if (format === 'criteo') {
    if (obj.fields !== undefined && obj.fields !== null)
      throw configError(`${field}.fields`, 'is for jsonl data; a Criteo file is read by column position');
    return {
      kind: 'ctr_file',
      path,
      format,
      numDense: optional(obj.numDense, d.numDense, (v) => nonNegativeInt(v, `${field}.numDense`)),
      numCategorical: optional(obj.numCategorical, d.numCategorical, (v) => positiveInt(v, `${field}.numCategorical`)),
      fields: null,
    };
  }
  const f = requireObject(obj.fields, `${field}.fields`);
  rejectUnknownKeys(f, ['label', 'dense', 'categorical'], `${field}.fields`);
  const names = (v: unknown, at: string, min: number): string[] => {
    if (!Array.isArray(v) || v.length < min) throw configError(at, `must be a list of at least ${min} field name(s)`);
    return v.map((x, i) => stringField(x, `${at}[${i}]`));
  };
  const fields = {
    label: stringField(f.label, `${field}.fields.label`),
    dense: names(f.dense ?? [], `${field}.fields.dense`, 0),
    categorical: names(f.categorical, `${field}.fields.categorical`, 1),
  };
  for (const [k, n] of [
    ['numDense', fields.dense.length],
    ['numCategorical', fields.categorical.length],
  ] as const) {
    if (obj[k] !== undefined && obj[k] !== n) throw configError(`${field}.${k}`, `is ${String(obj[k])}, but fields lists ${n}`);
  }
  return { kind: 'ctr_file', path, format, numDense: fields.dense.length, numCategorical: fields.categorical.length, fields };
}
