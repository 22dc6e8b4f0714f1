import { configError } from './errors.js';
import { type FreezeWindow, parseFreezePlan } from './freeze-plan.js';
import { type OptimizerGroup, parseOptimizerGroups } from './optimizer-groups.js';
import { parseSyncMode, type SyncMode } from './sync-mode.js';
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

/**
 * A training job: what every role needs to agree on. The coordinator owns it and hands it to
 * PS and trainer processes at registration, so the roles never read config files themselves.
 * JSON-safe on purpose: it crosses the wire as-is.
 */
export interface JobConfig {
  readonly seed: number;
  /** A built-in model by name, or a module path; options go to its factory. */
  readonly model: { readonly name?: string; readonly path?: string; readonly options: Record<string, unknown> };
  readonly optimizers: readonly OptimizerGroup[];
  readonly sync: SyncMode;
  /** Steps per worker clock; in BSP, global steps. */
  readonly steps: number;
  /** Examples per global step, split across all workers. */
  readonly batchSize: number;
  readonly data: DataSpec;
  readonly freeze: readonly FreezeWindow[];
  /** Trajectory fixture whose initial_state starts the run (parity runs). */
  readonly initialState: { readonly fixture: string } | null;
  readonly cluster: ClusterSize;
  readonly timeouts: { readonly stepMs: number; readonly registrationMs: number };
  /** Log loss and throughput every n steps. */
  readonly logEverySteps: number;
  /** Held-out evaluation: worker 0 measures loss (and accuracy for classifiers) every n steps and at the end. */
  readonly eval: EvalConfig | null;
  /** Per-table changes to the model's declarations: frozen, optimizer group, from_pretrained. */
  readonly tables: Readonly<Record<string, TableOverride>>;
  /** Checkpoints: where, how often, how many to keep, what to resume from. */
  readonly checkpoint: CheckpointConfig | null;
  /** Deliberate slowness for tests and demos of the consistency modes: rank → extra ms per step. */
  readonly debug: { readonly slowRanks: Readonly<Record<string, number>> };
}

/** nn.Embedding.from_pretrained for a job's table: initial rows from a file. */
export interface PretrainedSource {
  readonly path: string;
  readonly format: 'npy' | 'safetensors' | 'word2vec' | 'glove';
  /** Words of the table's rows (one per line, line i = row i): maps the file's words to rows. */
  readonly vocab: string | null;
  /** Frozen during training, as PyTorch's from_pretrained(freeze=True) by default. */
  readonly freeze: boolean;
}

export interface TableOverride {
  readonly frozen?: boolean;
  readonly group?: string;
  readonly pretrained?: PretrainedSource;
}

function parseTableOverrides(value: unknown, tableNames: readonly string[] | null, field: string): Record<string, TableOverride> {
  if (value === undefined || value === null) return {};
  const obj = requireObject(value, field);
  const out: Record<string, TableOverride> = {};
  for (const [name, raw] of Object.entries(obj)) {
    if (tableNames && !tableNames.includes(name))
      throw configError(`${field}.${name}`, `the model has no table '${name}' (tables: ${tableNames.join(', ')})`);
    const t = requireObject(raw, `${field}.${name}`);
    rejectUnknownKeys(t, ['frozen', 'group', 'pretrained'], `${field}.${name}`);
    const o: { frozen?: boolean; group?: string; pretrained?: PretrainedSource } = {};
    if (t.frozen !== undefined) o.frozen = booleanField(t.frozen, `${field}.${name}.frozen`);
    if (t.group !== undefined) o.group = stringField(t.group, `${field}.${name}.group`);
    if (t.pretrained !== undefined) {
      const pf = `${field}.${name}.pretrained`;
      const p = requireObject(t.pretrained, pf);
      rejectUnknownKeys(p, ['path', 'format', 'vocab', 'freeze'], pf);
      const path = stringField(p.path, `${pf}.path`);
      const guessed = path.endsWith('.npy') ? 'npy' : path.endsWith('.safetensors') ? 'safetensors' : undefined;
      o.pretrained = {
        path,
        format:
          optional(p.format, guessed as PretrainedSource['format'] | undefined, (v) =>
            oneOf(v, `${pf}.format`, ['npy', 'safetensors', 'word2vec', 'glove'] as const),
          ) ??
          (() => {
            throw configError(`${pf}.format`, 'is required for this file (npy, safetensors, word2vec or glove)');
          })(),
        vocab: optional(p.vocab, null as string | null, (v) => stringField(v, `${pf}.vocab`)),
        freeze: optional(p.freeze, true, (v) => booleanField(v, `${pf}.freeze`)),
      };
    }
    out[name] = o;
  }
  return out;
}

export interface EvalConfig {
  readonly data: DataSpec;
  /** Evaluate after every n steps (null: only at the end). */
  readonly everySteps: number | null;
  /** Batches of the eval data per evaluation. */
  readonly batches: number;
  readonly batchSize: number;
}

function parseEvalConfig(value: unknown, field: string): EvalConfig | null {
  if (value === undefined || value === null) return null;
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, ['data', 'everySteps', 'batches', 'batchSize'], field);
  return {
    data: parseDataSpec(obj.data, `${field}.data`),
    everySteps: optional(obj.everySteps, null as number | null, (v) => positiveInt(v, `${field}.everySteps`)),
    batches: optional(obj.batches, 4, (v) => positiveInt(v, `${field}.batches`)),
    batchSize: optional(obj.batchSize, 256, (v) => positiveInt(v, `${field}.batchSize`)),
  };
}

export interface CheckpointConfig {
  readonly dir: string;
  /** Take one every n steps (null: not by steps). */
  readonly everySteps: number | null;
  /** Take one at the first step boundary after n seconds (null: not by time). */
  readonly everySeconds: number | null;
  /** How many to keep (default 3). */
  readonly keep: number;
  /** On start: 'latest' (default), 'none', or a checkpoint directory name such as step-00000050. */
  readonly resume: string;
}

function parseCheckpointConfig(value: unknown, field: string): CheckpointConfig | null {
  if (value === undefined || value === null) return null;
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, ['dir', 'everySteps', 'everySeconds', 'keep', 'resume'], field);
  const resume = optional(obj.resume, 'latest', (v) => stringField(v, `${field}.resume`));
  if (resume !== 'latest' && resume !== 'none' && !/^step-\d{8}$/.test(resume)) {
    throw configError(
      `${field}.resume`,
      `must be latest, none or a checkpoint name like step-00000050, got ${JSON.stringify(resume)}`,
    );
  }
  return {
    dir: stringField(obj.dir, `${field}.dir`),
    everySteps: optional(obj.everySteps, null as number | null, (v) => positiveInt(v, `${field}.everySteps`)),
    everySeconds: optional(obj.everySeconds, null as number | null, (v) => positiveInt(v, `${field}.everySeconds`)),
    keep: optional(obj.keep, 3, (v) => positiveInt(v, `${field}.keep`)),
    resume,
  };
}

export interface ClusterSize {
  readonly ps: number;
  readonly trainers: number;
  readonly workersPerTrainer: number;
}

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
  | FileDataSpec;

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
  /** 'bag': word ids + hashed n-gram buckets (fastText); 'sequence': padded [B, seqLen] word ids. */
  readonly features: 'bag' | 'sequence';
  readonly seqLen: number;
  readonly wordNgrams: number;
  readonly buckets: number;
  readonly minCount: number;
  readonly maxVocab: number | null;
  /** Examples held by the shuffling buffer (0: file order). */
  readonly shuffleBuffer: number;
  readonly seed: number;
  readonly vocabFile: string | null;
  readonly labelsFile: string | null;
  readonly examples: number | null;
}

export function parseDataSpec(value: unknown, field = 'data'): DataSpec {
  const obj = requireObject(value, field);
  const kind = oneOf(obj.kind, `${field}.kind`, ['fixture', 'synthetic_text', 'file'] as const);
  if (kind === 'file') return parseFileDataSpec(obj, field);
  if (kind === 'fixture') {
    rejectUnknownKeys(obj, ['kind', 'path'], field);
    return { kind, path: stringField(obj.path, `${field}.path`) };
  }
  rejectUnknownKeys(obj, ['kind', 'vocabSize', 'seqLen', 'numClasses', 'zipfS', 'seed', 'rule', 'repeatBatches'], field);
  const vocabSize = positiveInt(obj.vocabSize, `${field}.vocabSize`);
  if (vocabSize < 2) throw configError(`${field}.vocabSize`, 'must be at least 2 (id 0 is padding)');
  return {
    kind,
    vocabSize,
    seqLen: positiveInt(obj.seqLen, `${field}.seqLen`),
    numClasses: optional(obj.numClasses, 2, (v) => positiveInt(v, `${field}.numClasses`)),
    zipfS: optional(obj.zipfS, 1.1, (v) => numberInRange(v, `${field}.zipfS`, 0, 10, { minExclusive: true })),
    seed: optional(obj.seed, 1, (v) => nonNegativeInt(v, `${field}.seed`)),
    rule: optional(obj.rule, 'signal_tokens' as const, (v) =>
      oneOf(v, `${field}.rule`, ['first_token_parity', 'signal_tokens'] as const),
    ),
    repeatBatches: optional(obj.repeatBatches, 0, (v) => nonNegativeInt(v, `${field}.repeatBatches`)),
  };
}

export const jobConfigFields = [
  'seed',
  'model',
  'optimizers',
  'sync',
  'steps',
  'batchSize',
  'data',
  'freeze',
  'initialState',
  'cluster',
  'timeouts',
  'logEverySteps',
  'checkpoint',
  'tables',
  'eval',
  'debug',
] as const;

/**
 * Validates a job; `tableNames` (the model's tables, known once the model is built) checks
 * the freeze plan. Every error names the field.
 */
export function parseJobConfig(value: unknown, tableNames: readonly string[] | null = null, field = ''): JobConfig {
  const at = (k: string) => (field ? `${field}.${k}` : k);
  const obj = requireObject(value, field || 'job');
  rejectUnknownKeys(obj, jobConfigFields, field);
  const model = requireObject(obj.model, at('model'));
  rejectUnknownKeys(model, ['name', 'path', 'options'], at('model'));
  if ((model.name === undefined) === (model.path === undefined)) {
    throw configError(at('model'), 'give exactly one of name (a built-in model) or path (a module)');
  }
  const modelSpec = {
    ...(model.name !== undefined ? { name: stringField(model.name, at('model.name')) } : {}),
    ...(model.path !== undefined ? { path: stringField(model.path, at('model.path')) } : {}),
    options: model.options === undefined ? {} : requireObject(model.options, at('model.options')),
  };
  const cluster = requireObject(obj.cluster ?? {}, at('cluster'));
  rejectUnknownKeys(cluster, ['ps', 'trainers', 'workersPerTrainer'], at('cluster'));
  const timeouts = requireObject(obj.timeouts ?? {}, at('timeouts'));
  rejectUnknownKeys(timeouts, ['stepMs', 'registrationMs'], at('timeouts'));
  let initialState: JobConfig['initialState'] = null;
  if (obj.initialState !== undefined && obj.initialState !== null) {
    const init = requireObject(obj.initialState, at('initialState'));
    rejectUnknownKeys(init, ['fixture'], at('initialState'));
    initialState = { fixture: stringField(init.fixture, at('initialState.fixture')) };
  }
  const job: JobConfig = {
    seed: optional(obj.seed, 0, (v) => nonNegativeInt(v, at('seed'))),
    model: modelSpec,
    optimizers: parseOptimizerGroups(obj.optimizers, at('optimizers')),
    sync: parseSyncMode(obj.sync, at('sync')),
    steps: positiveInt(obj.steps, at('steps')),
    batchSize: positiveInt(obj.batchSize, at('batchSize')),
    data: parseDataSpec(obj.data, at('data')),
    freeze: tableNames ? parseFreezePlan(obj.freeze, tableNames, at('freeze')) : [],
    initialState,
    cluster: {
      ps: optional(cluster.ps, 2, (v) => positiveInt(v, at('cluster.ps'))),
      trainers: optional(cluster.trainers, 1, (v) => positiveInt(v, at('cluster.trainers'))),
      workersPerTrainer: optional(cluster.workersPerTrainer, 2, (v) => positiveInt(v, at('cluster.workersPerTrainer'))),
    },
    timeouts: {
      stepMs: optional(timeouts.stepMs, 120_000, (v) => positiveInt(v, at('timeouts.stepMs'))),
      registrationMs: optional(timeouts.registrationMs, 60_000, (v) => positiveInt(v, at('timeouts.registrationMs'))),
    },
    logEverySteps: optional(obj.logEverySteps, 10, (v) => positiveInt(v, at('logEverySteps'))),
    checkpoint: parseCheckpointConfig(obj.checkpoint, at('checkpoint')),
    tables: parseTableOverrides(obj.tables, tableNames, at('tables')),
    eval: parseEvalConfig(obj.eval, at('eval')),
    debug: parseDebug(obj.debug, at('debug')),
  };
  const workers = job.cluster.trainers * job.cluster.workersPerTrainer;
  if (job.batchSize < workers) {
    throw configError(at('batchSize'), `${job.batchSize} examples cannot be split across ${workers} workers`);
  }
  return job;
}

/** Workers in the job: trainers × workers per trainer; ranks are 0 .. total-1. */
export function totalWorkers(cluster: ClusterSize): number {
  return cluster.trainers * cluster.workersPerTrainer;
}

/** Examples of global batch `size` that worker `rank` of `workers` takes: a contiguous slice. */
export function workerSlice(size: number, rank: number, workers: number): { start: number; end: number } {
  const base = Math.floor(size / workers);
  const extra = size % workers;
  const start = rank * base + Math.min(rank, extra);
  return { start, end: start + base + (rank < extra ? 1 : 0) };
}

function parseDebug(value: unknown, field: string): JobConfig['debug'] {
  if (value === undefined || value === null) return { slowRanks: {} };
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, ['slowRanks'], field);
  const slow = requireObject(obj.slowRanks ?? {}, `${field}.slowRanks`);
  const slowRanks: Record<string, number> = {};
  for (const [rank, ms] of Object.entries(slow)) {
    if (!/^\d+$/.test(rank)) throw configError(`${field}.slowRanks.${rank}`, 'keys must be worker ranks');
    slowRanks[rank] = nonNegativeInt(ms, `${field}.slowRanks.${rank}`);
  }
  return { slowRanks };
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
      'maxVocab',
      'shuffleBuffer',
      'seed',
      'vocabFile',
      'labelsFile',
      'examples',
    ],
    field,
  );
  const format = optional(obj.format, 'fasttext' as const, (v) =>
    oneOf(v, `${field}.format`, ['fasttext', 'jsonl', 'csv', 'tsv'] as const),
  );
  let columns: FileDataSpec['columns'] = null;
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
    header: optional(obj.header, true, (v) => booleanField(v, `${field}.header`)),
    features: optional(obj.features, 'bag' as const, (v) => oneOf(v, `${field}.features`, ['bag', 'sequence'] as const)),
    seqLen: optional(obj.seqLen, 64, (v) => positiveInt(v, `${field}.seqLen`)),
    wordNgrams: optional(obj.wordNgrams, 1, (v) => positiveInt(v, `${field}.wordNgrams`)),
    buckets: optional(obj.buckets, 2_000_000, (v) => nonNegativeInt(v, `${field}.buckets`)),
    minCount: optional(obj.minCount, 1, (v) => positiveInt(v, `${field}.minCount`)),
    maxVocab: optional(obj.maxVocab, null as number | null, (v) => positiveInt(v, `${field}.maxVocab`)),
    shuffleBuffer: optional(obj.shuffleBuffer, 10_000, (v) => nonNegativeInt(v, `${field}.shuffleBuffer`)),
    seed: optional(obj.seed, 1, (v) => nonNegativeInt(v, `${field}.seed`)),
    vocabFile: optional(obj.vocabFile, null as string | null, (v) => stringField(v, `${field}.vocabFile`)),
    labelsFile: optional(obj.labelsFile, null as string | null, (v) => stringField(v, `${field}.labelsFile`)),
    examples: optional(obj.examples, null as number | null, (v) => positiveInt(v, `${field}.examples`)),
  };
}
