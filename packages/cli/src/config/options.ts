import type { OptionSpec } from '../command-line/parse.js';

/**
 * Every setting of `rowshard train`, with its flag, environment variable and place in the
 * config file: one table, so the flags, the env names and the README reference cannot drift
 * (test/integration/cli-train.test.ts checks the README lists each one). Precedence:
 * flag > environment > config file > built-in default.
 */
export type OptionType = 'int' | 'number' | 'string' | 'boolean';

export interface TrainOption {
  /** Long flag without dashes. */
  readonly flag: string;
  readonly env: string;
  /** Dotted path in the job config; `*` stands for every optimizer group; null for CLI-only settings. */
  readonly path: string | null;
  readonly type: OptionType;
  readonly help: string;
  readonly choices?: readonly string[];
  /** Numbers: the smallest allowed (excluded with minExclusive). */
  readonly min?: number;
  readonly minExclusive?: boolean;
  /** The value's placeholder in `--help`. */
  readonly value?: string;
}

export const trainOptions: readonly TrainOption[] = [
  {
    flag: 'config',
    env: 'ROWSHARD_CONFIG',
    path: null,
    type: 'string',
    value: 'FILE',
    help: 'job file (YAML or JSON); without one, the built-in demo job',
  },
  {
    flag: 'steps',
    env: 'ROWSHARD_STEPS',
    path: 'steps',
    type: 'int',
    min: 1,
    help: 'optimizer steps (per worker clock in ASP/SSP)',
  },
  {
    flag: 'epochs',
    env: 'ROWSHARD_EPOCHS',
    path: 'epochs',
    type: 'number',
    min: 0,
    minExclusive: true,
    help: 'passes over file data (sets steps from the example count)',
  },
  {
    flag: 'batch-size',
    env: 'ROWSHARD_BATCH_SIZE',
    path: 'batchSize',
    type: 'int',
    min: 1,
    help: 'examples per global step, split across workers',
  },
  {
    flag: 'seed',
    env: 'ROWSHARD_SEED',
    path: 'seed',
    type: 'int',
    min: 0,
    help: 'job seed: row init, dense init, dropout, shuffling',
  },
  {
    flag: 'sync',
    env: 'ROWSHARD_SYNC',
    path: 'sync.mode',
    type: 'string',
    choices: ['bsp', 'ssp', 'asp'],
    help: 'consistency mode',
  },
  {
    flag: 'staleness',
    env: 'ROWSHARD_STALENESS',
    path: 'sync.staleness',
    type: 'int',
    min: 0,
    help: 'SSP bound: clocks a worker may run ahead',
  },
  { flag: 'ps', env: 'ROWSHARD_PS', path: 'cluster.ps', type: 'int', min: 1, help: 'parameter-server processes (shards)' },
  { flag: 'trainers', env: 'ROWSHARD_TRAINERS', path: 'cluster.trainers', type: 'int', min: 1, help: 'trainer processes' },
  {
    flag: 'workers',
    env: 'ROWSHARD_WORKERS',
    path: 'cluster.workersPerTrainer',
    type: 'int',
    min: 1,
    help: 'worker threads per trainer',
  },
  {
    flag: 'model',
    env: 'ROWSHARD_MODEL',
    path: 'model.name',
    type: 'string',
    value: 'NAME',
    help: 'built-in model: text_classifier, recommender, category_model, fasttext, ctr',
  },
  {
    flag: 'model-path',
    env: 'ROWSHARD_MODEL_PATH',
    path: 'model.path',
    type: 'string',
    value: 'FILE',
    help: 'a model module (default export: Model or (options) => Model)',
  },
  {
    flag: 'lr',
    env: 'ROWSHARD_LR',
    path: 'optimizers.*.lr',
    type: 'number',
    min: 0,
    help: 'learning rate of every optimizer group',
  },
  { flag: 'data', env: 'ROWSHARD_DATA', path: 'data.path', type: 'string', value: 'FILE', help: 'training data file' },
  {
    flag: 'format',
    env: 'ROWSHARD_FORMAT',
    path: 'data.format',
    type: 'string',
    choices: ['fasttext', 'jsonl', 'csv', 'tsv'],
    help: 'training data format',
  },
  {
    flag: 'eval-data',
    env: 'ROWSHARD_EVAL_DATA',
    path: 'eval.data.path',
    type: 'string',
    value: 'FILE',
    help: 'held-out data file (same format)',
  },
  {
    flag: 'eval-every',
    env: 'ROWSHARD_EVAL_EVERY',
    path: 'eval.everySteps',
    type: 'int',
    min: 1,
    help: 'evaluate every n steps (and at the end)',
  },
  {
    flag: 'checkpoint-dir',
    env: 'ROWSHARD_CHECKPOINT_DIR',
    path: 'checkpoint.dir',
    type: 'string',
    value: 'DIR',
    help: 'where checkpoints go (enables them)',
  },
  {
    flag: 'checkpoint-every',
    env: 'ROWSHARD_CHECKPOINT_EVERY',
    path: 'checkpoint.everySteps',
    type: 'int',
    min: 1,
    help: 'checkpoint every n steps',
  },
  {
    flag: 'checkpoint-seconds',
    env: 'ROWSHARD_CHECKPOINT_SECONDS',
    path: 'checkpoint.everySeconds',
    type: 'int',
    min: 1,
    help: 'checkpoint at the first step after n seconds',
  },
  { flag: 'keep', env: 'ROWSHARD_CHECKPOINT_KEEP', path: 'checkpoint.keep', type: 'int', min: 1, help: 'checkpoints kept' },
  {
    flag: 'resume',
    env: 'ROWSHARD_RESUME',
    path: 'checkpoint.resume',
    type: 'string',
    value: 'auto|latest|none|step-N',
    help: 'auto (resume only an unchanged job), latest, none (start fresh), or a checkpoint name (step-00000050)',
  },
  {
    flag: 'log-every',
    env: 'ROWSHARD_LOG_EVERY',
    path: 'logEverySteps',
    type: 'int',
    min: 1,
    help: 'progress report every n steps',
  },
  {
    flag: 'metrics',
    env: 'ROWSHARD_METRICS',
    path: null,
    type: 'string',
    value: 'FILE',
    help: 'append one JSON line per progress/eval report to this file',
  },
  {
    flag: 'dashboard',
    env: 'ROWSHARD_DASHBOARD',
    path: null,
    type: 'boolean',
    help: 'serve the live dashboard on the coordinator and print its URL',
  },
  { flag: 'json', env: 'ROWSHARD_JSON', path: null, type: 'boolean', help: 'JSON event lines on stdout (for scripts)' },
  { flag: 'quiet', env: 'ROWSHARD_QUIET', path: null, type: 'boolean', help: 'only the final summary' },
];

export function optionByFlag(flag: string): TrainOption | undefined {
  return trainOptions.find((o) => o.flag === flag);
}

/** An option as the command-line parser and `--help` take it. */
export function optionSpecOf(o: TrainOption): OptionSpec {
  return {
    name: o.flag,
    type: o.type,
    help: o.help,
    env: o.env,
    ...(o.value ? { value: o.value } : {}),
    ...(o.choices ? { choices: o.choices } : {}),
    ...(o.min !== undefined ? { min: o.min } : {}),
    ...(o.minExclusive ? { minExclusive: o.minExclusive } : {}),
  };
}
