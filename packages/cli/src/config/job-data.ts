import { type FileDataSpec, jobDefaults, parseDataSpec } from '@rowshard/core';
import { type DataFact, optionsFromDataOf } from '@rowshard/nn';
import { fastTextBuckets } from '@rowshard/trainer/data';
import { userModuleImporter } from '@rowshard/transport/launch';
import { type PreparedData, prepareEvalData, prepareFileData } from '../data-prep.js';

/** What an eval file takes from the training data unless it says otherwise ("same format"). */
const evalInherits = [
  'format',
  'columns',
  'header',
  'features',
  'seqLen',
  'wordNgrams',
  'buckets',
  'minn',
  'maxn',
  'label',
  'minCount',
  'minCountLabel',
] as const;

/**
 * File data: the vocabulary pass, then everything that depends on it: the data and eval specs
 * (vocabulary and label files, example counts), the model when the job names none (`fasttext`
 * for bag features, `text_classifier` for sequences), model options left out or set to "auto"
 * (vocabulary size, classes), and steps from epochs.
 */
export async function prepareJobData(job: Record<string, unknown>, dir: string, epochs: number | null): Promise<PreparedData> {
  const spec = parseDataSpec(job.data, 'data') as FileDataSpec;
  const prepared = await prepareFileData(spec, dir);
  job.data = {
    ...(job.data as object),
    vocabFile: prepared.spec.vocabFile,
    labelsFile: prepared.spec.labelsFile,
    examples: prepared.examples,
    ...(prepared.spec.examplesFile ? { examplesFile: prepared.spec.examplesFile } : {}),
  };
  const ev = job.eval as Record<string, unknown> | undefined;
  if (ev?.data && (ev.data as Record<string, unknown>).kind === 'file') {
    const given = ev.data as Record<string, unknown>;
    const inherited = Object.fromEntries(evalInherits.map((k) => [k, spec[k]]));
    const evalSpec = await prepareEvalData(parseDataSpec({ ...inherited, ...given }, 'eval.data') as FileDataSpec, prepared);
    ev.data = {
      ...inherited,
      ...given,
      vocabFile: evalSpec.vocabFile,
      labelsFile: evalSpec.labelsFile,
      examples: evalSpec.examples,
      shuffleBuffer: 0,
    };
  }
  job.model ??= { name: spec.features === 'sequence' ? 'text_classifier' : 'fasttext' };
  const model = job.model as Record<string, unknown>;
  const options = (model.options ?? {}) as Record<string, unknown>;
  // A pruned dictionary's kept buckets (-1: not pruned).
  const keptBuckets = prepared.dictionary?.pruneIndexSize ?? -1;
  const facts: Record<DataFact, number> = {
    vocabSize: prepared.numWords,
    numClasses: prepared.numClasses,
    // fastText's features (supervised, skipgram, cbow) hash n-grams as fastText does.
    // A pruned dictionary (quantize -cutoff -retrain) has a row for each bucket it kept, no more.
    buckets:
      spec.features === 'bag' || spec.features === 'sequence'
        ? spec.wordNgrams > 1
          ? spec.buckets
          : 0
        : keptBuckets >= 0
          ? keptBuckets
          : fastTextBuckets(spec),
    seqLen: spec.seqLen,
    examples: prepared.examples,
  };
  // A malformed model section is reported by validateJob, after this.
  const modelSpec =
    typeof model.name === 'string'
      ? { name: model.name, options }
      : typeof model.path === 'string'
        ? { path: model.path, options }
        : null;
  const fromData = modelSpec ? await optionsFromDataOf(modelSpec, userModuleImporter(import.meta.resolve('@rowshard/nn'))) : {};
  for (const [option, fact] of Object.entries(fromData)) {
    if (options[option] === undefined || options[option] === 'auto') options[option] = facts[fact];
  }
  // fastText's hs and ns need the classes' counts (the Huffman tree, the negatives' distribution).
  if (model.name === 'fasttext' && (options.loss === 'hs' || options.loss === 'ns') && options.labelCounts === undefined) {
    options.labelCounts = [...prepared.labelCounts];
  }
  model.options = options;
  if (epochs !== null) {
    const batchSize = typeof job.batchSize === 'number' ? job.batchSize : jobDefaults.batchSize;
    job.steps = Math.max(1, Math.ceil((epochs * prepared.examples) / batchSize));
  }
  return prepared;
}
