import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  dictionaryFileText,
  ErrorCodes,
  encodeExamples,
  FastTextDictionary,
  type FileDataSpec,
  KEPT_EXAMPLE_ROWS,
  MAX_KEPT_TOKENS,
  parseDictionaryFileText,
  RowshardError,
  type TokenizedExample,
} from '@rowshard/core';
import {
  buildFastTextDictionary,
  builtExamples,
  countWordExamples,
  dictionaryOptions,
  fastTextExampleChunks,
  LabelSet,
  readRecords,
  SEQUENCE_RESERVED,
  TokenCounter,
  tokenize,
  Vocabulary,
} from '@rowshard/trainer/data';

export interface PreparedData {
  readonly spec: FileDataSpec;
  /** Rows of words in the input table. */
  readonly numWords: number;
  readonly numClasses: number;
  /** Each class's count in the training data, in class order (hs's Huffman tree, ns's negatives). */
  readonly labelCounts: readonly number[];
  /** The vocabulary file's text ('fasttext' features: a byte string, written as latin1). */
  readonly vocabText: string;
  readonly labelsText: string;
  readonly examples: number;
  /** Lines left out ('fasttext' features: no label, or nothing in the dictionary), as fastText leaves them out. */
  readonly skippedLines: number;
  /** 'fasttext' features: the dictionary. */
  readonly dictionary: FastTextDictionary | null;
  /** 'fasttext' features: the examples tokenised (encodeExamples), for `spec.examplesFile`; null for a large file. */
  readonly examplesBytes: Uint8Array | null;
}

function writeAtomic(path: string, content: string | Uint8Array, encoding: BufferEncoding = 'utf8'): void {
  writeFileSync(`${path}.tmp`, content, typeof content === 'string' ? encoding : undefined);
  renameSync(`${path}.tmp`, path);
}

/**
 * 'fasttext' features: fastText's dictionary over the file's bytes (read whole, as the
 * dictionary pass needs every count before any id is known), or the dictionary given as
 * `vocabFile`, then a pass counting the lines that train. The vocabulary file is the
 * dictionary; the labels file lists the labels in the dictionary's order (label i is class i).
 */
async function prepareFastTextData(spec: FileDataSpec, dir: string): Promise<PreparedData> {
  // A dictionary given (`rowshard supervised -resume-from`: the model's) is the dictionary: not rebuilt from the file.
  const dict = spec.vocabFile
    ? parseDictionaryFileText(readFileSync(spec.vocabFile, 'latin1'), spec.vocabFile, dictionaryOptions(spec))
    : buildFastTextDictionary(spec, MAX_KEPT_TOKENS);
  if (dict.nwords === 0)
    throw new RowshardError(ErrorCodes.BAD_DATA, `${spec.path}: empty vocabulary (try a smaller minCount)`, { file: spec.path });
  if (dict.nlabels === 0)
    throw new RowshardError(ErrorCodes.BAD_DATA, `${spec.path}: no line has a label starting with '${spec.label}'`, {
      file: spec.path,
    });
  const skipped = { count: 0 };
  let examples = 0;
  // The examples as the workers will see them, kept (a small file) so they need not tokenise it again.
  let kept: TokenizedExample[] | null = [];
  let rows = 0;
  // The file's lines from the tokens the dictionary pass kept, or from the file again, a read at a time.
  const built = builtExamples(dict, skipped);
  for await (const chunk of built ? [built] : fastTextExampleChunks(spec.path, dict, skipped)) {
    for (const example of chunk) {
      examples++;
      rows += example.ids.length;
      if (kept && rows > KEPT_EXAMPLE_ROWS) kept = null;
      kept?.push(example);
    }
  }
  dict.dropKeptText();
  if (examples === 0)
    throw new RowshardError(ErrorCodes.BAD_DATA, `${spec.path}: no line has both a label and a word`, { file: spec.path });
  const labels: string[] = [];
  for (let l = 0; l < dict.nlabels; l++) labels.push(`${dict.label(l)}\t${dict.entries[dict.nwords + l].count}\n`);
  return {
    spec: {
      ...spec,
      vocabFile: join(dir, 'dictionary.txt'),
      labelsFile: join(dir, 'labels.txt'),
      examples,
      examplesFile: kept ? join(dir, 'examples.i32') : null,
    },
    numWords: dict.nwords,
    numClasses: dict.nlabels,
    labelCounts: dict.counts('label'),
    vocabText: dictionaryFileText(dict),
    labelsText: labels.join(''),
    examples,
    skippedLines: skipped.count,
    dictionary: dict,
    examplesBytes: kept ? encodeExamples(kept) : null,
  };
}

/**
 * The pass over the training file that comes before training: it counts examples, builds the
 * vocabulary (min count, size cap, reserved <pad>/<unk> for sequence models) and the label
 * set. It writes nothing: the spec names where `writePreparedData` will put the vocabulary
 * and label files (`dir`), once the whole job has been checked. A malformed line stops it
 * with the file and line.
 */
/** fastText's word vectors: the dictionary, and one example per known word of the file. */
async function prepareFastTextWords(spec: FileDataSpec, dir: string): Promise<PreparedData> {
  // A dictionary given (`-resume-from`: the model's) is the dictionary: not rebuilt from the file.
  const dict = spec.vocabFile
    ? parseDictionaryFileText(readFileSync(spec.vocabFile, 'latin1'), spec.vocabFile, dictionaryOptions(spec))
    : FastTextDictionary.build(readFileSync(spec.path), dictionaryOptions(spec));
  if (dict.nwords === 0)
    throw new RowshardError(ErrorCodes.BAD_DATA, `${spec.path}: empty vocabulary (try a smaller minCount)`, { file: spec.path });
  const examples = await countWordExamples(spec.path, dict);
  return {
    spec: { ...spec, vocabFile: join(dir, 'dictionary.txt'), labelsFile: join(dir, 'labels.txt'), examples },
    numWords: dict.nwords,
    numClasses: 0,
    labelCounts: [],
    vocabText: dictionaryFileText(dict),
    labelsText: '',
    examples,
    skippedLines: 0,
    dictionary: dict,
    examplesBytes: null,
  };
}

export async function prepareFileData(spec: FileDataSpec, dir: string): Promise<PreparedData> {
  if (spec.features === 'fasttext') return prepareFastTextData(spec, dir);
  if (spec.features === 'fasttext_skipgram' || spec.features === 'fasttext_cbow') return prepareFastTextWords(spec, dir);
  const words = new TokenCounter();
  const labelCounts = new Map<string, number>();
  let examples = 0;
  for await (const { record } of readRecords(spec.path, spec.format, {
    header: spec.header,
    ...(spec.columns ? { columns: spec.columns } : {}),
  })) {
    words.add(tokenize(record.text));
    const label = record.labels[0];
    labelCounts.set(label, (labelCounts.get(label) ?? 0) + 1);
    examples++;
  }
  const vocab = Vocabulary.build(words.counts, {
    minCount: spec.minCount,
    reserved: spec.features === 'sequence' ? [...SEQUENCE_RESERVED] : [],
    ...(spec.maxVocab ? { maxSize: spec.maxVocab } : {}),
  });
  const labels = LabelSet.build(labelCounts);
  const vocabFile = join(dir, 'vocab.txt');
  const labelsFile = join(dir, 'labels.txt');
  return {
    spec: { ...spec, vocabFile, labelsFile, examples },
    numWords: vocab.size,
    numClasses: labels.size,
    labelCounts: labels.counts,
    vocabText: vocab.toText(),
    labelsText: labels.toText(),
    examples,
    skippedLines: 0,
    dictionary: null,
    examplesBytes: null,
  };
}

/** Writes the vocabulary and label files where `prepareFileData` said they would be. */
export function writePreparedData(prepared: PreparedData): void {
  const { vocabFile, labelsFile } = prepared.spec as { vocabFile: string; labelsFile: string };
  mkdirSync(join(vocabFile, '..'), { recursive: true });
  writeAtomic(vocabFile, prepared.vocabText, prepared.dictionary ? 'latin1' : 'utf8');
  writeAtomic(labelsFile, prepared.labelsText, prepared.dictionary ? 'latin1' : 'utf8');
  const { examplesFile } = prepared.spec;
  if (examplesFile && prepared.examplesBytes) writeAtomic(examplesFile, prepared.examplesBytes);
}

/** Counts the examples of an eval file read with the training vocabulary and labels. */
export async function prepareEvalData(spec: FileDataSpec, trained: PreparedData): Promise<FileDataSpec> {
  let examples = 0;
  if (spec.features === 'fasttext' && trained.dictionary) {
    for await (const chunk of fastTextExampleChunks(spec.path, trained.dictionary)) examples += chunk.length;
    return { ...spec, vocabFile: trained.spec.vocabFile, labelsFile: trained.spec.labelsFile, examples, shuffleBuffer: 0 };
  }
  for await (const _ of readRecords(spec.path, spec.format, {
    header: spec.header,
    ...(spec.columns ? { columns: spec.columns } : {}),
  }))
    examples++;
  return { ...spec, vocabFile: trained.spec.vocabFile, labelsFile: trained.spec.labelsFile, examples, shuffleBuffer: 0 };
}
