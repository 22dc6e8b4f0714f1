import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { CheckpointStore, writeTextDurably } from '@rowshard/coordinator';
import { ErrorCodes, formatVectorLine, RowshardError } from '@rowshard/core';
import { parseFastTextLine, tokenize, Vocabulary } from '@rowshard/trainer';
import { readManifest, readSavedRows, resolveCheckpointDir } from '../checkpoint-reader.js';
import { loadTrainConfig } from '../config/load-config.js';
import { readFastTextModel, writeFastTextModel } from '../fasttext/model-file.js';
import { FastTextPredictor } from '../fasttext/predictor.js';

import { type Command, usageError } from './command.js';
import { runTrain } from './train.js';

/**
 * fastText's command lines: `supervised`, `test`, `predict`, with fastText's single-dash
 * flags. Training runs through the same cluster as `rowshard train`: the input matrix (words,
 * then hashed n-gram buckets) is a table on the parameter servers, the output matrix a dense
 * parameter on the coordinator.
 */
function fastTextArgs(
  command: string,
  argv: string[],
  known: Record<string, string>,
): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') {
      rest.push(a);
      continue;
    }
    const name = a.replace(/^--?/, '');
    if (!(name in known)) {
      throw new RowshardError(
        ErrorCodes.BAD_CONFIG,
        `${command}: unknown argument ${a} (known: ${Object.keys(known)
          .map((k) => `-${k}`)
          .join(' ')})`,
        { field: name },
      );
    }
    if (i + 1 >= argv.length) throw new RowshardError(ErrorCodes.BAD_CONFIG, `${command}: ${a} needs a value`, { field: name });
    flags[name] = argv[++i];
  }
  return { flags, rest };
}

const num = (command: string, flags: Record<string, string>, name: string, fallback: number, integer = true): number => {
  if (flags[name] === undefined) return fallback;
  const v = Number(flags[name]);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < 0) {
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `${command}: -${name} must be a ${integer ? 'non-negative integer' : 'number'}, got ${JSON.stringify(flags[name])}`,
      {
        field: name,
      },
    );
  }
  return v;
};

const supervisedArgs: Record<string, string> = {
  input: 'training file (fastText format: __label__X text)',
  output: 'model path prefix: writes <output>.bin and <output>.vec',
  lr: 'learning rate (default 0.5 with adagrad, 0.05 with adam, 0.1 with sgd)',
  dim: 'vector size (100)',
  epoch: 'passes over the data (5)',
  minCount: 'minimal word count (1)',
  wordNgrams: 'max word n-gram length (1)',
  bucket: 'hashed n-gram buckets (2000000)',
  minn: 'character n-grams: only 0 is supported',
  maxn: 'character n-grams: only 0 is supported',
  loss: 'softmax (the only loss)',
  thread: 'worker threads (picked for the machine)',
  label: 'label prefix (__label__)',
  ws: 'ignored (unsupervised only)',
  verbose: 'ignored',
  optimizer: "rowshard: adagrad (default), adam (SparseAdam + Adam), or sgd (fastText's)",
  batch: 'rowshard: examples per step (64)',
  seed: 'rowshard: seed (0)',
  ps: 'rowshard: parameter servers (picked for the machine)',
  sync: "rowshard: asp (default: updates apply on arrival, as fastText's threads do) or bsp",
};

/**
 * rowshard's defaults, chosen by `pnpm bench:fasttext` (README, "Numbers"): Adagrad at lr 0.5
 * on batches of 64 reached the held-out P@1 of fastText's best settings on the fortunes corpus,
 * where fastText's own SGD at lr 0.1 for 5 epochs underfits.
 */
function optimizersFor(kind: string, lr: number | null): Record<string, unknown> {
  switch (kind) {
    case 'adam':
      return { embeddings: { kind: 'sparse_adam', lr: lr ?? 0.05 }, dense: { kind: 'adam', lr: lr ?? 0.05 } };
    case 'adagrad':
      return { embeddings: { kind: 'adagrad', lr: lr ?? 0.5 }, dense: { kind: 'adagrad', lr: lr ?? 0.5 } };
    case 'sgd':
      return { embeddings: { kind: 'sgd', lr: lr ?? 0.1 }, dense: { kind: 'sgd', lr: lr ?? 0.1 } };
    default:
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `supervised: -optimizer must be adam, adagrad or sgd, got ${kind}`, {
        field: 'optimizer',
      });
  }
}

export const supervisedCommand: Command = {
  summary: 'train a fastText-style classifier (fastText flags) through the cluster',
  usage:
    'rowshard supervised -input train.txt -output model [-dim 100 -epoch 5 -lr 0.5 -wordNgrams 1 -bucket 2000000 -minCount 1 -loss softmax -thread N]',
  async run(argv) {
    const { flags, rest } = fastTextArgs('supervised', argv, supervisedArgs);
    if (rest.length > 0) throw usageError('supervised', `unexpected argument ${rest[0]}`);
    if (!flags.input || !flags.output) throw usageError('supervised', `-input and -output are required\nusage: ${this.usage}`);
    if (!existsSync(flags.input))
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `supervised: -input ${flags.input}: no such file`, {
        field: 'input',
        file: flags.input,
      });
    if ((flags.loss ?? 'softmax') !== 'softmax')
      throw new RowshardError(ErrorCodes.UNSUPPORTED, `supervised: -loss ${flags.loss} is not supported (softmax only)`, {
        field: 'loss',
      });
    for (const n of ['minn', 'maxn']) {
      if (num('supervised', flags, n, 0) !== 0)
        throw new RowshardError(ErrorCodes.UNSUPPORTED, `supervised: -${n}: character n-grams are not supported`, { field: n });
    }
    const sync = flags.sync ?? 'asp';
    if (sync !== 'asp' && sync !== 'bsp')
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `supervised: -sync must be asp or bsp, got ${sync}`, { field: 'sync' });
    const dim = num('supervised', flags, 'dim', 100);
    const epochs = num('supervised', flags, 'epoch', 5, false);
    const wordNgrams = num('supervised', flags, 'wordNgrams', 1);
    const output = resolve(flags.output);
    const workDir = `${output}.rowshard`;
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(dirname(output), { recursive: true });
    const job = (): Record<string, unknown> => ({
      seed: num('supervised', flags, 'seed', 0),
      model: { name: 'fasttext', options: { embeddingDim: dim } },
      optimizers: optimizersFor(
        flags.optimizer ?? 'adagrad',
        flags.lr === undefined ? null : num('supervised', flags, 'lr', 0, false),
      ),
      sync: { mode: sync },
      epochs,
      batchSize: num('supervised', flags, 'batch', 64),
      data: {
        kind: 'file',
        path: resolve(flags.input),
        format: 'fasttext',
        features: 'bag',
        wordNgrams,
        buckets: num('supervised', flags, 'bucket', 2_000_000),
        minCount: num('supervised', flags, 'minCount', 1),
        shuffleBuffer: 100_000,
        seed: num('supervised', flags, 'seed', 0) + 1,
      },
      checkpoint: { dir: workDir, resume: 'none', keep: 1 },
      // What is not given is picked for the machine, as rowshard train does.
      cluster: {
        ...(flags.ps === undefined ? {} : { ps: num('supervised', flags, 'ps', 1) }),
        trainers: 1,
        ...(flags.thread === undefined ? {} : { workersPerTrainer: Math.max(1, num('supervised', flags, 'thread', 1)) }),
      },
      logEverySteps: 50,
    });
    const loaded = await loadTrainConfig({}, {}, job, 'supervised', availableParallelism());
    const code = await runTrain(loaded);
    if (code !== 0) return code;
    const dir = resolveCheckpointDir(workDir);
    const manifest = readManifest(dir);
    // Only the rows training touched: a table with millions of n-gram buckets is never built whole.
    const table = readSavedRows(dir, manifest, 'embedding');
    const dense = readDenseOutput(dir);
    const data = loaded.job.data as { vocabFile: string; labelsFile: string; buckets: number };
    const vocab = Vocabulary.fromText(readFileSync(data.vocabFile, 'utf8'), data.vocabFile);
    const labels = readFileSync(data.labelsFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t')[0]);
    const modelFile = `${output}.bin`;
    writeFastTextModel(modelFile, {
      spec: table.spec,
      seed: manifest.seed,
      words: vocab.words,
      labels,
      wordNgrams,
      buckets: Number((loaded.job.model as { options: { buckets: number } }).options.buckets),
      ids: table.ids,
      rows: table.rows,
      output: dense,
      args: { ...flags },
    });
    // <output>.vec: the word vectors in word2vec text, as fastText writes them.
    const lines = [`${vocab.size} ${dim}`];
    const vector = new Float32Array(dim);
    for (let w = 0; w < vocab.size; w++) {
      table.row(w, vector, 0);
      lines.push(formatVectorLine(vocab.word(w), vector, 0, dim));
    }
    writeTextDurably(`${output}.vec`, `${lines.join('\n')}\n`);
    process.stderr.write(`wrote ${modelFile} and ${output}.vec\n`);
    return 0;
  },
};

function readDenseOutput(dir: string): Float32Array {
  const store = new CheckpointStore({ dir: dirname(dir), everySteps: null, everySeconds: null, keep: 1, resume: 'none' });
  const manifest = readManifest(dir);
  const dense = store.readDense(dir, manifest.dense);
  const out = dense.values['fc.weight'];
  if (!out) throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${dir}: the checkpoint has no fc.weight`, { file: dir });
  return out;
}

/** Reads a fastText-format file line by line (stdin for '-'). */
async function* textLines(path: string): AsyncGenerator<{ line: string; n: number }> {
  const input = path === '-' ? process.stdin : createReadStream(path, 'utf8');
  if (path !== '-' && !existsSync(path)) throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: no such file`, { file: path });
  let n = 0;
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    n++;
    yield { line, n };
  }
}

/**
 * What `test` and `predict` share: `model.bin file [k]` checked, the model loaded, and each
 * line of the file parsed with the model's label prefix (unlabelled lines allowed).
 */
function openPrediction(command: string, usage: string, argv: readonly string[]) {
  if (argv.length < 2 || argv.length > 3) throw usageError(command, `usage: ${usage}`);
  const [modelPath, dataPath, rawK] = argv;
  const k = rawK === undefined ? 1 : Number(rawK);
  if (!Number.isInteger(k) || k < 1)
    throw new RowshardError(ErrorCodes.BAD_CONFIG, `${command}: k must be a positive integer, got ${JSON.stringify(rawK)}`, {
      field: 'k',
    });
  const predictor = new FastTextPredictor(readFastTextModel(modelPath));
  const prefix = String(predictor.model.args.label ?? '__label__');
  async function* records() {
    for await (const { line, n } of textLines(dataPath)) {
      yield parseFastTextLine(line, { file: dataPath, line: n }, { labelPrefix: prefix, allowUnlabeled: true });
    }
  }
  return { k, predictor, prefix, records };
}

export const testCommand: Command = {
  summary: 'fastText test: N, P@k and R@k of a model on labelled data',
  usage: 'rowshard test model.bin test.txt [k]',
  async run(argv) {
    const { k, predictor, records } = openPrediction('test', this.usage, argv);
    let examples = 0;
    let gold = 0;
    let predicted = 0;
    let correct = 0;
    for await (const record of records()) {
      if (!record || record.labels.length === 0 || tokenize(record.text).length === 0) continue;
      const preds = predictor.predict(record.text, k);
      examples++;
      gold += record.labels.length;
      predicted += preds.length;
      for (const p of preds) if (record.labels.includes(p.label)) correct++;
    }
    // fastText's definitions: precision over predictions made, recall over gold labels.
    process.stdout.write(
      `N\t${examples}\nP@${k}\t${(correct / Math.max(1, predicted)).toFixed(3)}\nR@${k}\t${(correct / Math.max(1, gold)).toFixed(3)}\n`,
    );
    return 0;
  },
};

export const predictCommand: Command = {
  summary: 'fastText predict: the k most likely labels of each line (- reads stdin)',
  usage: 'rowshard predict model.bin file.txt|- [k]',
  async run(argv) {
    const { k, predictor, prefix, records } = openPrediction('predict', this.usage, argv);
    for await (const record of records()) {
      const preds = predictor.predict(record?.text ?? '', k);
      process.stdout.write(`${preds.map((p) => `${prefix}${p.label}`).join(' ')}\n`);
    }
    return 0;
  },
};
