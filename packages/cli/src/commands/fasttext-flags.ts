import { ErrorCodes, RowshardError } from '@rowshard/core';
import type { CommandLineSpec, OptionSpec } from '../command-line/parse.js';

/**
 * The training commands' fastText flags: supervised's table, the flags refused with their
 * reasons, and the optimizers each -optimizer names.
 */

/**
 * What each -optimizer names: the input matrix's optimizer, the output matrix's as a dense
 * parameter and as a table (-outputMatrix table: the dense choice's sparse form, so both
 * placements train it alike), and the default -lr.
 */
const OPTIMIZER_CHOICES: Record<string, { input: string; dense: string; table: string; lr: number }> = {
  rowwise_adagrad: { input: 'rowwise_adagrad', dense: 'adagrad', table: 'adagrad', lr: 0.4 },
  adagrad: { input: 'adagrad', dense: 'adagrad', table: 'adagrad', lr: 0.5 },
  sgd: { input: 'sgd', dense: 'sgd', table: 'sgd', lr: 0.1 },
  adam: { input: 'sparse_adam', dense: 'adam', table: 'sparse_adam', lr: 0.05 },
};

/** The -optimizer choices, for a command's own check: "rowwise_adagrad, adagrad, sgd or adam". */
export const optimizerChoices = Object.keys(OPTIMIZER_CHOICES);
export const optimizerChoicesText = `${optimizerChoices.slice(0, -1).join(', ')} or ${optimizerChoices.at(-1)}`;

/** Option lines for refused flags, so help lists them with the reason (fastText's switches take no value). */
export function refusedOptions(list: readonly [string, string][]): OptionSpec[] {
  return list.map(
    ([name, why]): OptionSpec =>
      ['saveOutput', 'retrain', 'qnorm', 'qout'].includes(name)
        ? { name, type: 'boolean', help: `not supported: ${why}` }
        : { name, type: 'string', value: 'X', help: `not supported: ${why}` },
  );
}

/** A refused flag given: E_UNSUPPORTED naming it and why. */
export function refuseFlags(command: string, flags: Record<string, unknown>, list: readonly [string, string][]): void {
  for (const [name, why] of list) {
    if (flags[name] !== undefined)
      throw new RowshardError(ErrorCodes.UNSUPPORTED, `${command}: -${name} is not supported: ${why}`, { field: name });
  }
}

/** fastText's documented training flags rowshard's training commands refuse, each with why. */
export const unsupportedFastTextFlags: readonly [string, string][] = [
  ['cutoff', 'a flag of quantize, not of training: rowshard quantize -output PREFIX -cutoff ...'],
  ['retrain', 'a flag of quantize, not of training: rowshard quantize -output PREFIX -retrain ...'],
  ['qnorm', 'a flag of quantize, not of training: rowshard quantize -output PREFIX -qnorm ...'],
  ['qout', 'a flag of quantize, not of training: rowshard quantize -output PREFIX -qout ...'],
  ['dsub', 'a flag of quantize, not of training: rowshard quantize -output PREFIX -dsub ...'],
];

/** supervised's autotune flags, fastText's, with fastText's defaults. */
const autotuneOptions: readonly OptionSpec[] = [
  {
    name: 'autotune-validation',
    type: 'string',
    value: 'FILE',
    help: 'labelled data to tune on: searches the arguments not given (epoch, lr, dim, wordNgrams, minn/maxn, bucket) for -autotune-duration seconds and keeps the best model',
  },
  {
    name: 'autotune-metric',
    type: 'string',
    value: 'METRIC',
    help: 'what autotune maximises on the validation file: f1, f1:LABEL, precisionAtRecall:R[:LABEL], recallAtPrecision:P[:LABEL] (R, P in percent)',
    default: 'f1',
  },
  {
    name: 'autotune-predictions',
    type: 'int',
    help: 'labels predicted per validation line when scoring (-1: every label)',
    default: '1',
  },
  { name: 'autotune-duration', type: 'int', min: 1, help: 'seconds autotune searches for', default: '300' },
  {
    name: 'autotune-modelsize',
    type: 'string',
    value: 'SIZE',
    help: "largest model file autotune may keep (2M, 500k): each trial is cut to the rows that fit (quantize -cutoff computed from the size as fastText's, -retrain) and quantised (-qnorm, -dsub searched); writes PATH.ftz",
    default: 'none: no quantisation',
  },
];

const supervisedOptions: readonly OptionSpec[] = [
  { name: 'input', type: 'string', value: 'FILE', help: 'training file (fastText format: __label__X text)' },
  { name: 'output', type: 'string', value: 'PATH', help: 'model path prefix: writes PATH.bin and PATH.vec' },
  { name: 'lr', type: 'number', min: 0, help: 'learning rate', default: '0.5 with adagrad, 0.05 with adam, 0.1 with sgd' },
  { name: 'dim', type: 'int', min: 1, help: 'vector size', default: '100' },
  { name: 'epoch', type: 'number', min: 0, minExclusive: true, help: 'passes over the data', default: '5' },
  { name: 'minCount', type: 'int', min: 1, help: 'minimal word count', default: '1' },
  { name: 'minCountLabel', type: 'int', min: 0, help: 'minimal label count', default: '0' },
  { name: 'wordNgrams', type: 'int', min: 1, help: 'max word n-gram length', default: '1' },
  { name: 'bucket', type: 'int', min: 0, help: 'hashed n-gram buckets', default: '2000000' },
  { name: 'minn', type: 'int', min: 0, help: 'min length of char n-gram', default: '0' },
  { name: 'maxn', type: 'int', min: 0, help: 'max length of char n-gram (0: none)', default: '0' },
  {
    name: 'loss',
    type: 'string',
    value: 'softmax|ns|hs|ova',
    choices: ['softmax', 'ns', 'hs', 'ova'],
    help: 'loss function: softmax, ns (negative sampling), hs (hierarchical softmax), ova (one-vs-all)',
    default: 'softmax',
  },
  { name: 'thread', type: 'int', min: 1, help: 'worker threads', default: 'picked for the machine' },
  { name: 'label', type: 'string', value: 'PREFIX', help: 'label prefix', default: '__label__' },
  { name: 'ws', type: 'int', min: 1, help: 'size of the context window (cbow/skipgram only; kept in the model)', default: '5' },
  { name: 'neg', type: 'int', min: 1, help: 'negatives sampled (ns loss only; kept in the model)', default: '5' },
  { name: 't', type: 'number', min: 0, help: 'sampling threshold (cbow/skipgram only; kept in the model)', default: '0.0001' },
  {
    name: 'lrUpdateRate',
    type: 'int',
    min: 1,
    help: "how often fastText's SGD decays its lr (tokens); kept in the model, rowshard's lr is per step",
    default: '100',
  },
  {
    name: 'verbose',
    type: 'int',
    min: 0,
    help: "0: only warnings and the run's summary line (as rowshard train --quiet); 1 or more: progress every 50 steps and the files written",
    default: '2',
  },
  {
    name: 'pretrainedVectors',
    type: 'string',
    value: 'FILE',
    help: "pretrained word vectors (fastText's .vec, or a fastText .bin/.ftz): their words join the dictionary, their vectors start the words' rows",
  },
  {
    name: 'saveOutput',
    type: 'boolean',
    help: 'also write the output matrix, one row per label, to PATH.output',
    default: 'false',
  },
  {
    name: 'resume-from',
    type: 'string',
    value: 'MODEL.bin',
    help: "rowshard: train on from a supervised fastText .bin (fastText's or rowshard's): its dictionary, input and output matrices start the run, its arguments are the defaults",
  },
  ...autotuneOptions,
  ...refusedOptions(unsupportedFastTextFlags),
  {
    name: 'optimizer',
    type: 'string',
    value: optimizerChoices.join('|'),
    help: "rowshard: rowwise_adagrad (one accumulator per row; Adagrad on the output matrix), adagrad, adam (SparseAdam + Adam), or sgd (fastText's)",
    default: 'rowwise_adagrad (adagrad with -loss ova)',
  },
  { name: 'batch', type: 'int', min: 1, help: 'rowshard: examples per step', default: '64' },
  { name: 'seed', type: 'int', min: 0, help: "rowshard: seed (of training, and of autotune's search)", default: '0' },
  { name: 'ps', type: 'int', min: 1, help: 'rowshard: parameter servers', default: 'picked for the machine' },
  {
    name: 'sync',
    type: 'string',
    value: 'asp|bsp',
    help: "rowshard: asp (updates apply on arrival, as fastText's threads do) or bsp (reproducible)",
    default: 'asp',
  },
  {
    name: 'outputMatrix',
    type: 'string',
    value: 'dense|table',
    choices: ['dense', 'table'],
    help: 'rowshard: the output matrix as a dense parameter (sent whole each step) or a table on the parameter servers',
    default: 'dense',
  },
];

export const supervisedCommandLine: CommandLineSpec = {
  command: 'supervised',
  summary: 'train a fastText-style classifier (fastText flags) through the cluster',
  dash: '-',
  options: supervisedOptions,
  notes: [
    'example: rowshard supervised -input train.txt -output model -wordNgrams 2 -epoch 5',
    'autotune: rowshard supervised -input train.txt -output model -autotune-validation valid.txt -autotune-duration 60',
  ],
};

/**
 * rowshard's defaults, chosen by `pnpm bench:fasttext` (docs/PERFORMANCE.md, fastText): Adagrad at lr 0.5
 * on batches of 64 reached the held-out P@1 of fastText's best settings on the fortunes corpus,
 * where fastText's own SGD at lr 0.1 for 5 epochs underfits.
 */
/**
 * supervised's optimizer when -optimizer is not given: row-wise Adagrad on the input matrix
 * (TorchRec's EXACT_ROWWISE_ADAGRAD: one accumulator per row, the mean of its squared
 * gradient), Adagrad on the output matrix, at -lr 0.4. On the fortunes corpus
 * (docs/PERFORMANCE.md, fastText) it reached the held-out P@1 of Adagrad at 0.5 with softmax (0.544 against 0.543
 * at one epoch), ns (0.517, 0.518) and hs (0.493, 0.487), 6–10% sooner, with a hundredth of
 * the optimizer state (checkpoints of 74 MB against 145); with -loss ova it stayed about a
 * point behind at every rate tried (0.513 against 0.526 at its best), so ova keeps Adagrad.
 */
export function defaultOptimizer(loss: string): string {
  return loss === 'ova' ? 'adagrad' : 'rowwise_adagrad';
}

/**
 * The optimizer groups of -optimizer `kind`: `embeddings` (the input matrix), `dense` (the
 * output matrix as a dense parameter) and `output` (the output matrix as a table).
 */
export function optimizersFor(kind: string, lr: number | null): Record<string, unknown> {
  const choice = Object.hasOwn(OPTIMIZER_CHOICES, kind) ? OPTIMIZER_CHOICES[kind] : null;
  if (!choice) {
    throw new RowshardError(ErrorCodes.BAD_CONFIG, `supervised: -optimizer must be ${optimizerChoicesText}, got ${kind}`, {
      field: 'optimizer',
    });
  }
  const rate = lr ?? choice.lr;
  return {
    embeddings: { kind: choice.input, lr: rate },
    dense: { kind: choice.dense, lr: rate },
    output: { kind: choice.table, lr: rate },
  };
}
