import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileDataSpec } from '@rowshard/core';
import { LabelSet, readRecords, SEQUENCE_RESERVED, TokenCounter, tokenize, Vocabulary } from '@rowshard/trainer';

export interface PreparedData {
  readonly spec: FileDataSpec;
  readonly vocab: Vocabulary;
  readonly labels: LabelSet;
  readonly examples: number;
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/**
 * The pass over the training file that comes before training: it counts examples, builds the
 * vocabulary (min count, size cap, reserved <pad>/<unk> for sequence models) and the label
 * set. It writes nothing: the spec names where `writePreparedData` will put the vocabulary
 * and label files (`dir`), once the whole job has been checked. A malformed line stops it
 * with the file and line.
 */
export async function prepareFileData(spec: FileDataSpec, dir: string): Promise<PreparedData> {
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
  return { spec: { ...spec, vocabFile, labelsFile, examples }, vocab, labels, examples };
}

/** Writes the vocabulary and label files where `prepareFileData` said they would be. */
export function writePreparedData(prepared: PreparedData): void {
  const { vocabFile, labelsFile } = prepared.spec as { vocabFile: string; labelsFile: string };
  mkdirSync(join(vocabFile, '..'), { recursive: true });
  writeAtomic(vocabFile, prepared.vocab.toText());
  writeAtomic(labelsFile, prepared.labels.toText());
}

/** Counts the examples of an eval file read with the training vocabulary and labels. */
export async function prepareEvalData(spec: FileDataSpec, trained: PreparedData): Promise<FileDataSpec> {
  let examples = 0;
  for await (const _ of readRecords(spec.path, spec.format, {
    header: spec.header,
    ...(spec.columns ? { columns: spec.columns } : {}),
  }))
    examples++;
  return { ...spec, vocabFile: trained.spec.vocabFile, labelsFile: trained.spec.labelsFile, examples, shuffleBuffer: 0 };
}
