import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CheckpointStore } from '@rowshard/coordinator/files';
import {
  type CheckpointManifest,
  DenseMatrix,
  ErrorCodes,
  type FastTextArgs,
  type FastTextLoss,
  type FileDataSpec,
  parseDataSpec,
  RowshardError,
} from '@rowshard/core';
import { buildFastTextDictionary, fastTextBuckets } from '@rowshard/trainer/data';
import { readSavedRows } from '../checkpoint-reader.js';
import { formatHelp } from '../command-line/help.js';
import { parseCommandLine } from '../command-line/parse.js';
import { loadTrainConfig } from '../config/load-config.js';
import { isNativeModelFile, loadNativeModel } from '../fasttext/native-model.js';
import { openResumedModel, writeResumeFiles } from '../fasttext/resume.js';
import { trainFastTextModel } from '../fasttext/train-model.js';
import { type Command, usageError } from './command.js';
import { autotuneFlags, runAutotune } from './fasttext-autotune.js';
import {
  defaultOptimizer,
  optimizersFor,
  refuseFlags,
  supervisedCommandLine,
  unsupportedFastTextFlags,
} from './fasttext-flags.js';

/**
 * `rowshard supervised`, with fastText's single-dash flags (fasttext-flags.ts). Training runs
 * through the same cluster as `rowshard train`, on fastText's tokenisation, dictionary and
 * hashing (`features: fasttext`): the input matrix (words, then hashed character and word
 * n-gram buckets) is a table on the parameter servers, the output matrix a dense parameter
 * on the coordinator (or, `-outputMatrix table`, a table too), and the result is written as a
 * fastText .bin.
 */
export const supervisedCommand: Command = {
  summary: supervisedCommandLine.summary,
  usage: 'rowshard supervised -input train.txt -output model [options]',
  help: () => formatHelp(supervisedCommandLine),
  async run(argv) {
    const { values: flags, positionals } = parseCommandLine(supervisedCommandLine, argv, () => formatHelp(supervisedCommandLine));
    if (positionals.length > 0) throw usageError('supervised', `unexpected argument ${positionals[0]}`);
    const input = flags.input as string | undefined;
    const outputPrefix = flags.output as string | undefined;
    if (!input || !outputPrefix) throw usageError('supervised', `-input and -output are required\nusage: ${this.usage}`);
    if (!existsSync(input))
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `supervised: -input ${input}: no such file`, {
        field: 'input',
        file: input,
      });
    refuseFlags('supervised', flags, unsupportedFastTextFlags);
    // -resume-from: the model's arguments are the defaults, its shape is checked against the flags.
    const resumed =
      flags['resume-from'] === undefined
        ? null
        : openResumedModel('supervised', resolve(String(flags['resume-from'])), flags, ['sup']);
    const loss = String(flags.loss ?? resumed?.file.args.loss ?? 'softmax') as FastTextLoss;
    if (flags['autotune-validation'] !== undefined) {
      if (resumed)
        throw new RowshardError(
          ErrorCodes.BAD_CONFIG,
          'supervised: -autotune-validation searches from scratch; it does not take -resume-from (tune, then resume from the tuned model)',
          { field: 'resume-from' },
        );
      const optimizer = String(flags.optimizer ?? defaultOptimizer(loss));
      const lr = optimizersFor(optimizer, (flags.lr as number | undefined) ?? null).dense as { lr: number };
      const given = <T>(name: string, fallback: T) => (flags[name] as T | undefined) ?? fallback;
      return runAutotune({
        flags,
        output: resolve(outputPrefix),
        start: {
          epoch: given('epoch', 5),
          lr: lr.lr,
          dim: given('dim', 100),
          wordNgrams: given('wordNgrams', 1),
          minn: given('minn', 0),
          maxn: given('maxn', 0),
          bucket: given('bucket', 2_000_000),
          loss,
        },
      });
    }
    for (const name of autotuneFlags)
      if (flags[name] !== undefined)
        throw new RowshardError(ErrorCodes.BAD_CONFIG, `supervised: -${name} needs -autotune-validation FILE`, {
          field: name,
        });
    const sync = String(flags.sync ?? 'asp');
    if (sync !== 'asp' && sync !== 'bsp')
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `supervised: -sync must be asp or bsp, got ${sync}`, { field: 'sync' });
    const fromModel = resumed?.file.args as Record<string, unknown> | undefined;
    const num = (name: string, fallback: number) =>
      (flags[name] as number | undefined) ?? (fromModel?.[name] as number | undefined) ?? fallback;
    const outputPlace = String(flags.outputMatrix ?? 'dense') as 'dense' | 'table';
    const dim = num('dim', 100);
    const epochs = num('epoch', 5);
    const wordNgrams = num('wordNgrams', 1);
    const output = resolve(outputPrefix);
    const workDir = `${output}.rowshard`;
    const given = flags.pretrainedVectors === undefined ? null : resolve(String(flags.pretrainedVectors));
    if (given && !existsSync(given))
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `supervised: -pretrainedVectors ${given}: no such file`, {
        field: 'pretrainedVectors',
        file: given,
      });
    // -pretrainedVectors: the table starts from the file, each vector at its word's row in the
    // dictionary fastText would build (the corpus's, joined by the file's words). That
    // dictionary is built here too, so the rows can be named before the job is checked.
    const scratch = given || resumed ? mkdtempSync(join(tmpdir(), 'rowshard-pretrained-')) : null;
    const resumeFiles = resumed && scratch ? writeResumeFiles(resumed, scratch) : null;
    const vocabFile = scratch ? join(scratch, 'words.txt') : null;
    // A fastText model (.bin/.ftz) starts training too: its words' vectors (subwords included), as a .vec.
    const pretrained = given && scratch && isNativeModelFile(given) ? modelAsVec(given, join(scratch, 'model.vec')) : given;
    if (pretrained && vocabFile) {
      const dict = buildFastTextDictionary(
        parseDataSpec(
          {
            kind: 'file',
            path: resolve(input),
            wordNgrams,
            buckets: num('bucket', 2_000_000),
            minCount: num('minCount', 1),
            minCountLabel: num('minCountLabel', 0),
            minn: num('minn', 0),
            maxn: num('maxn', 0),
            label: String(flags.label ?? '__label__'),
            pretrainedVectors: pretrained,
          },
          'data',
        ) as FileDataSpec,
      );
      const words: string[] = [];
      for (let w = 0; w < dict.nwords; w++) words.push(`${dict.word(w)}\n`);
      writeFileSync(vocabFile, Buffer.from(words.join(''), 'latin1'));
    }
    // The job's table overrides: -pretrainedVectors' or -resume-from's rows to start from (every
    // row of the input matrix, words and buckets, and the output matrix), and the output matrix
    // as a table in an optimizer group of its own (optimizersFor's `output`: the dense choice's
    // sparse form, so both placements train it alike).
    const tables: Record<string, Record<string, unknown>> = {};
    if (pretrained) tables.embedding = { pretrained: { path: pretrained, format: 'word2vec', vocab: vocabFile, freeze: false } };
    if (resumeFiles) {
      tables.embedding = { pretrained: { path: resumeFiles.input, format: 'npy', freeze: false } };
      if (outputPlace === 'table') tables.output = { pretrained: { path: resumeFiles.output, format: 'npy', freeze: false } };
    }
    if (outputPlace === 'table') tables.output = { ...tables.output, group: 'output' };
    const job = (): Record<string, unknown> => ({
      seed: num('seed', 0),
      model: { name: 'fasttext', options: { embeddingDim: dim, loss, neg: num('neg', 5), outputMatrix: outputPlace } },
      optimizers: optimizersFor(String(flags.optimizer ?? defaultOptimizer(loss)), (flags.lr as number | undefined) ?? null),
      sync: { mode: sync },
      epochs,
      batchSize: num('batch', 64),
      data: {
        kind: 'file',
        path: resolve(input),
        format: 'fasttext',
        // fastText's tokeniser, dictionary and hashing: the model is a fastText .bin.
        features: 'fasttext',
        wordNgrams,
        buckets: num('bucket', 2_000_000),
        minCount: num('minCount', 1),
        minCountLabel: num('minCountLabel', 0),
        minn: num('minn', 0),
        maxn: num('maxn', 0),
        label: String(flags.label ?? '__label__'),
        pretrainedVectors: pretrained,
        shuffleBuffer: 100_000,
        seed: num('seed', 0) + 1,
        // -resume-from: the model's dictionary, not one built from -input.
        ...(resumeFiles ? { vocabFile: resumeFiles.dictionary } : {}),
      },
      ...(Object.keys(tables).length > 0 ? { tables } : {}),
      ...(resumeFiles && outputPlace === 'dense' ? { initialState: { dense: { 'fc.weight': resumeFiles.output } } } : {}),
      checkpoint: { dir: workDir, resume: 'none', keep: 1 },
      // What is not given is picked for the machine, as rowshard train does (with one worker at least).
      cluster: {
        ...(flags.ps === undefined ? {} : { ps: num('ps', 1) }),
        trainers: 1,
        ...(flags.thread === undefined ? {} : { workersPerTrainer: num('thread', 1) }),
      },
      logEverySteps: 50,
    });
    return trainFastTextModel({
      // At least one worker, not two: supervised's workers do little (cluster-choice.ts).
      load: async (onCluster) => {
        const cpus = { cpus: availableParallelism(), minWorkers: 1 };
        const loaded = await loadTrainConfig({ quiet: flags.verbose === 0 }, {}, job, 'supervised', cpus, onCluster);
        if (loaded.skippedLines > 0)
          process.stderr.write(
            `${input}: ${loaded.skippedLines} lines without a label or a known word skipped, as fastText skips them\n`,
          );
        return loaded;
      },
      workDir,
      output,
      modelArgs: (data: FileDataSpec): FastTextArgs => ({
        dim,
        ws: num('ws', 5),
        epoch: Math.ceil(epochs),
        minCount: data.minCount,
        neg: num('neg', 5),
        wordNgrams,
        loss,
        model: 'sup',
        bucket: fastTextBuckets(data),
        minn: data.minn,
        maxn: data.maxn,
        lrUpdateRate: num('lrUpdateRate', 100),
        t: num('t', 1e-4),
      }),
      // A table that starts from vectors or a resumed model has no init rows to write early.
      draftInit: !pretrained && !resumeFiles,
      outputMatrix: (dir, manifest, dict) =>
        new DenseMatrix(dict.nlabels, dim, readOutputMatrix(dir, manifest, outputPlace, dict.nlabels * dim)),
      saveOutput: Boolean(flags.saveOutput),
      verbose: flags.verbose !== 0,
      scratch,
    });
  },
};

/** A fastText model's word vectors (as getWordVector gives them) written as a .vec, at full float precision. */
function modelAsVec(modelPath: string, vecPath: string): string {
  const { dict, model } = loadNativeModel(modelPath);
  const lines = [`${dict.nwords} ${model.dim}\n`];
  for (let w = 0; w < dict.nwords; w++) {
    const v = model.wordVector(dict.word(w));
    lines.push(`${dict.word(w)} ${Array.from(v, (x) => String(x)).join(' ')}\n`);
  }
  writeFileSync(vecPath, Buffer.from(lines.join(''), 'latin1'));
  return vecPath;
}

/** The trained output matrix [labels, dim], from the dense parameter or the `output` table. */
function readOutputMatrix(dir: string, manifest: CheckpointManifest, place: 'dense' | 'table', size: number): Float32Array {
  if (place === 'dense') return readDenseOutput(dir, manifest);
  const table = readSavedRows(dir, manifest, 'output');
  const dim = table.spec.embeddingDim;
  const out = new Float32Array(size);
  for (let id = 0; id * dim < size; id++) table.row(id, out, id * dim);
  return out;
}

function readDenseOutput(dir: string, manifest: CheckpointManifest): Float32Array {
  const store = new CheckpointStore({ dir: dirname(dir), everySteps: null, everySeconds: null, keep: 1, resume: 'none' });
  const dense = store.readDense(dir, manifest.dense);
  const out = dense.values['fc.weight'];
  if (!out) throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${dir}: the checkpoint has no fc.weight`, { file: dir });
  return out;
}
