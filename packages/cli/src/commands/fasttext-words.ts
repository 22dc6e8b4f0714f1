import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, type FastTextArgs, type FileDataSpec, RowshardError } from '@rowshard/core';
import { fastTextBuckets } from '@rowshard/trainer/data';
import { readSavedRows } from '../checkpoint-reader.js';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, type OptionSpec, parseCommandLine } from '../command-line/parse.js';
import { loadTrainConfig } from '../config/load-config.js';
import { openResumedModel, writeResumeFiles } from '../fasttext/resume.js';
import { SavedRowsMatrix } from '../fasttext/saved-matrix.js';
import { trainFastTextModel } from '../fasttext/train-model.js';
import { type Command, usageError } from './command.js';
import { optimizerChoices, optimizersFor, refusedOptions, refuseFlags, unsupportedFastTextFlags } from './fasttext-flags.js';

/**
 * fastText's `skipgram` and `cbow`: word vectors with negative sampling, through the cluster.
 * Both matrices are tables on the parameter servers (the input: words, then character n-gram
 * buckets; the output: one row per word); the result is a fastText .bin (`model sg` or `cbow`)
 * and .vec, so `nn`, `analogies` and `print-word-vectors` of rowshard or fastText read it.
 */
/** What skipgram and cbow refuse: supervised's list, and starting from given vectors. */
const refusedHere: readonly [string, string][] = [
  ['pretrainedVectors', 'rowshard skipgram and cbow do not start from given vectors yet (rowshard supervised does)'],
  ...['validation', 'metric', 'predictions', 'duration', 'modelsize'].map((f): [string, string] => [
    `autotune-${f}`,
    'autotune tunes a classifier on labelled data: rowshard supervised has it',
  ]),
  ...unsupportedFastTextFlags,
];

const unsupervisedOptions = (defaultLr: string): readonly OptionSpec[] => [
  { name: 'input', type: 'string', value: 'FILE', help: 'training file (text; labels by -label are left out)' },
  { name: 'output', type: 'string', value: 'PATH', help: 'model path prefix: writes PATH.bin and PATH.vec' },
  { name: 'lr', type: 'number', min: 0, help: 'learning rate', default: defaultLr },
  { name: 'dim', type: 'int', min: 1, help: 'vector size', default: '100' },
  { name: 'ws', type: 'int', min: 1, help: 'size of the context window', default: '5' },
  { name: 'epoch', type: 'number', min: 0, minExclusive: true, help: 'passes over the data', default: '5' },
  { name: 'minCount', type: 'int', min: 1, help: 'minimal word count', default: '5' },
  { name: 'minCountLabel', type: 'int', min: 0, help: 'minimal label count', default: '0' },
  { name: 'neg', type: 'int', min: 1, help: 'negatives sampled per target', default: '5' },
  {
    name: 'wordNgrams',
    type: 'int',
    min: 1,
    help: 'kept in the model (word n-grams are supervised only, as in fastText)',
    default: '1',
  },
  {
    name: 'loss',
    type: 'string',
    value: 'ns',
    choices: ['ns'],
    help: 'loss function: ns only (hs and softmax are not supported here)',
    default: 'ns',
  },
  { name: 'bucket', type: 'int', min: 0, help: 'hashed character n-gram buckets', default: '2000000' },
  { name: 'minn', type: 'int', min: 0, help: 'min length of char n-gram', default: '3' },
  { name: 'maxn', type: 'int', min: 0, help: 'max length of char n-gram (0: none)', default: '6' },
  { name: 't', type: 'number', min: 0, help: 'sampling threshold', default: '0.0001' },
  { name: 'lrUpdateRate', type: 'int', min: 1, help: "kept in the model; rowshard's lr is per step", default: '100' },
  { name: 'label', type: 'string', value: 'PREFIX', help: 'label prefix (such words are left out)', default: '__label__' },
  { name: 'thread', type: 'int', min: 1, help: 'worker threads', default: 'picked for the machine' },
  {
    name: 'verbose',
    type: 'int',
    min: 0,
    help: "0: only warnings and the run's summary line (as rowshard train --quiet); 1 or more: progress every 50 steps and the files written",
    default: '2',
  },
  {
    name: 'saveOutput',
    type: 'boolean',
    help: 'also write the output matrix, one row per word, to PATH.output',
    default: 'false',
  },
  {
    name: 'resume-from',
    type: 'string',
    value: 'MODEL.bin',
    help: "rowshard: train on from a skipgram or cbow fastText .bin (fastText's or rowshard's, -loss ns): its dictionary and matrices start the run, its arguments are the defaults",
  },
  {
    name: 'optimizer',
    type: 'string',
    value: optimizerChoices.join('|'),
    help: "rowshard: adagrad, rowwise_adagrad (one accumulator per row), adam, or sgd (fastText's: each step the sum of its examples' updates, the rate decaying linearly to 0)",
    default: 'adagrad',
  },
  ...refusedOptions(refusedHere),
  { name: 'batch', type: 'int', min: 1, help: 'rowshard: words per step', default: '256' },
  { name: 'seed', type: 'int', min: 0, help: 'rowshard: seed', default: '0' },
  { name: 'ps', type: 'int', min: 1, help: 'rowshard: parameter servers', default: 'picked for the machine' },
  { name: 'sync', type: 'string', value: 'asp|bsp', help: 'rowshard: asp (as fastText) or bsp (reproducible)', default: 'asp' },
];

/** rowshard's default rate for word vectors: Adagrad at 0.1 (fastText's SGD starts at 0.05 and decays). */
const DEFAULT_LR = 0.1;

function wordVectorsCommand(kind: 'skipgram' | 'cbow'): Command {
  const spec: CommandLineSpec = {
    command: kind,
    summary: `train fastText ${kind} word vectors (negative sampling, character n-grams) through the cluster`,
    dash: '-',
    options: unsupervisedOptions(`${DEFAULT_LR} with adagrad, 0.05 with sgd`),
    notes: [`example: rowshard ${kind} -input text.txt -output vectors -dim 50 -epoch 5`],
  };
  return {
    summary: spec.summary,
    usage: `rowshard ${kind} -input text.txt -output model [options]`,
    help: () => formatHelp(spec),
    async run(argv) {
      const { values: flags, positionals } = parseCommandLine(spec, argv, () => formatHelp(spec));
      if (positionals.length > 0) throw usageError(kind, `unexpected argument ${positionals[0]}`);
      const input = flags.input as string | undefined;
      const outputPrefix = flags.output as string | undefined;
      if (!input || !outputPrefix) throw usageError(kind, `-input and -output are required\nusage: ${this.usage}`);
      if (!existsSync(input))
        throw new RowshardError(ErrorCodes.BAD_CONFIG, `${kind}: -input ${input}: no such file`, { field: 'input', file: input });
      refuseFlags(kind, flags, refusedHere);
      const sync = String(flags.sync ?? 'asp');
      if (sync !== 'asp' && sync !== 'bsp')
        throw new RowshardError(ErrorCodes.BAD_CONFIG, `${kind}: -sync must be asp or bsp, got ${sync}`, { field: 'sync' });
      // -resume-from: the model's arguments are the defaults, its shape is checked against the flags.
      const resumed =
        flags['resume-from'] === undefined
          ? null
          : openResumedModel(kind, resolve(String(flags['resume-from'])), flags, ['sg', 'cbow']);
      const fromModel = resumed?.file.args as Record<string, unknown> | undefined;
      const num = (name: string, fallback: number) =>
        (flags[name] as number | undefined) ?? (fromModel?.[name] as number | undefined) ?? fallback;
      const dim = num('dim', 100);
      const epochs = num('epoch', 5);
      const optimizer = String(flags.optimizer ?? 'adagrad');
      const lr = (flags.lr as number | undefined) ?? (optimizer === 'sgd' ? 0.05 : DEFAULT_LR);
      const output = resolve(outputPrefix);
      const workDir = `${output}.rowshard`;
      const scratch = resumed ? mkdtempSync(join(tmpdir(), 'rowshard-resume-')) : null;
      const resumeFiles = resumed && scratch ? writeResumeFiles(resumed, scratch) : null;
      const job = (): Record<string, unknown> => ({
        seed: num('seed', 0),
        // -optimizer sgd is fastText's: each step the sum of its per-example updates, the rate
        // decaying linearly to 0 over the run (fastText's lr schedule).
        model: { name: 'fasttext_words', options: { embeddingDim: dim, reduction: optimizer === 'sgd' ? 'sum' : 'mean' } },
        optimizers: optimizer === 'sgd' ? linearDecay(optimizersFor(optimizer, lr)) : optimizersFor(optimizer, lr),
        sync: { mode: sync },
        epochs,
        batchSize: num('batch', 256),
        data: {
          kind: 'file',
          path: resolve(input),
          format: 'fasttext',
          features: kind === 'cbow' ? 'fasttext_cbow' : 'fasttext_skipgram',
          wordNgrams: num('wordNgrams', 1),
          buckets: num('bucket', 2_000_000),
          minCount: num('minCount', 5),
          minCountLabel: num('minCountLabel', 0),
          minn: num('minn', 3),
          maxn: num('maxn', 6),
          label: String(flags.label ?? '__label__'),
          ws: num('ws', 5),
          neg: num('neg', 5),
          t: num('t', 1e-4),
          shuffleBuffer: 0,
          seed: num('seed', 0) + 1,
          // -resume-from: the model's dictionary, not one built from -input.
          ...(resumeFiles ? { vocabFile: resumeFiles.dictionary } : {}),
        },
        // -resume-from: both matrices start from the model's (the input's buckets included).
        ...(resumeFiles
          ? {
              tables: {
                embedding: { pretrained: { path: resumeFiles.input, format: 'npy', freeze: false } },
                output: { pretrained: { path: resumeFiles.output, format: 'npy', freeze: false } },
              },
            }
          : {}),
        checkpoint: { dir: workDir, resume: 'none', keep: 1 },
        cluster: {
          ...(flags.ps === undefined ? {} : { ps: num('ps', 1) }),
          trainers: 1,
          ...(flags.thread === undefined ? {} : { workersPerTrainer: num('thread', 1) }),
        },
        logEverySteps: 50,
      });
      return trainFastTextModel({
        load: (onCluster) => loadTrainConfig({ quiet: flags.verbose === 0 }, {}, job, kind, availableParallelism(), onCluster),
        workDir,
        output,
        modelArgs: (data: FileDataSpec): FastTextArgs => ({
          dim,
          ws: data.ws,
          epoch: Math.ceil(epochs),
          minCount: data.minCount,
          neg: data.neg,
          wordNgrams: data.wordNgrams,
          loss: 'ns',
          model: kind === 'cbow' ? 'cbow' : 'sg',
          bucket: fastTextBuckets({ ...data, wordNgrams: 1 }),
          minn: data.minn,
          maxn: data.maxn,
          lrUpdateRate: num('lrUpdateRate', 100),
          t: data.t,
        }),
        // A resumed model's rows all start from the model: there is no init to write early.
        draftInit: !resumeFiles,
        outputMatrix: (dir, manifest) => new SavedRowsMatrix(readSavedRows(dir, manifest, 'output')).toDense(),
        saveOutput: Boolean(flags.saveOutput),
        verbose: flags.verbose !== 0,
        scratch,
      });
    },
  };
}

export const skipgramCommand = wordVectorsCommand('skipgram');
export const cbowCommand = wordVectorsCommand('cbow');

/** Every group's rate decaying linearly from its lr to 0 over the job's steps. */
function linearDecay(groups: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(groups).map(([name, g]) => [
      name,
      { ...(g as object), schedule: { kind: 'warmup_linear', warmupSteps: 0, minLrRatio: 0 } },
    ]),
  );
}
