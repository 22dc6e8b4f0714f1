import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { absolutisePretrainedPaths, checkPretrainedTables } from '@rowshard/coordinator';
import { ErrorCodes, type FileDataSpec, parseDataSpec, RowshardError } from '@rowshard/core';
import { resolveJob } from '@rowshard/nn';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { prepareEvalData, prepareFileData } from '../data-prep.js';
import { fillCluster } from './cluster-choice.js';
import { demoJob } from './demo-job.js';
import { type TrainOption, trainOptions } from './options.js';

export interface CliSettings {
  readonly metrics: string | null;
  readonly dashboard: boolean;
  readonly json: boolean;
  readonly quiet: boolean;
}

export interface LoadedConfig {
  /** The job, validated, with every path absolute. */
  readonly job: Record<string, unknown>;
  /** The config file, or null for the built-in demo job. */
  readonly file: string | null;
  readonly cli: CliSettings;
  /** Where a field came from, for messages: `job.yaml:14`, `--lr`, `ROWSHARD_LR`. */
  where(field: string): string;
  /** A temporary directory made for this run (vocabulary files), to remove afterwards. */
  readonly scratchDir: string | null;
  /** What cluster was picked for this machine, when the job left it out (`rowshard train`); null otherwise. */
  readonly clusterChoice: string | null;
}

type FieldSource = { kind: 'file'; line: number } | { kind: 'flag'; flag: string } | { kind: 'env'; env: string };

/** The 1-based line of a dotted path in a YAML/JSON document (or of its nearest ancestor). */
function lineOfPath(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: string): number | null {
  let node: unknown = doc.contents;
  let line: number | null = null;
  const at = (n: { range?: [number, number, number] | null } | null | undefined) =>
    n?.range ? counter.linePos(n.range[0]).line : null;
  for (const key of path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '')) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair) return line ?? at(node as Node);
      line = at(pair.key as Node) ?? line;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(key)) {
      node = node.items[Number(key)];
      line = at(node as Node) ?? line;
    } else {
      return line;
    }
  }
  return line;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  if (keys[0] === 'optimizers' && keys[1] === '*') {
    const groups = (obj.optimizers ?? {}) as Record<string, Record<string, unknown>>;
    for (const g of Object.values(groups)) g[keys[2]] = value;
    return;
  }
  let at: Record<string, unknown> = obj;
  for (const k of keys.slice(0, -1)) {
    if (at[k] === undefined || at[k] === null || typeof at[k] !== 'object') at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[keys[keys.length - 1]] = value;
}

function convert(option: TrainOption, raw: string | boolean, source: string): unknown {
  const bad = (why: string) =>
    new RowshardError(ErrorCodes.BAD_CONFIG, `${source}: ${why}`, { field: option.path ?? option.flag });
  if (option.type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off', ''].includes(raw.toLowerCase())) return false;
    throw bad(`must be true or false, got ${JSON.stringify(raw)}`);
  }
  const text = String(raw);
  if (option.type === 'int') {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw bad(`must be an integer, got ${JSON.stringify(text)}`);
    return n;
  }
  if (option.type === 'number') {
    const n = Number(text);
    if (!Number.isFinite(n) || text.trim() === '') throw bad(`must be a number, got ${JSON.stringify(text)}`);
    return n;
  }
  if (option.choices && !option.choices.includes(text))
    throw bad(`must be one of ${option.choices.join(', ')}, got ${JSON.stringify(text)}`);
  return text;
}

/** Paths in the job that name files or directories, resolved against `base`. */
const pathFields = [
  'model.path',
  'data.path',
  'data.vocabFile',
  'data.labelsFile',
  'eval.data.path',
  'initialState.fixture',
  'checkpoint.dir',
];

function getPath(obj: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

/**
 * Builds a job from a config file (YAML or JSON), then the environment, then flags, and
 * validates it. Every error names where the bad value came from: the file and line, the
 * flag, or the environment variable, and the field.
 */
export async function loadTrainConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  /** The job when no config file is given (default: the built-in demo), and what to call it in messages. */
  baseJob: () => Record<string, unknown> = demoJob,
  baseName = 'the built-in demo job',
  /** CPUs to size a cluster the job leaves out for (rowshard train); null keeps the job's defaults (a cluster's coordinator). */
  cpus: number | null = null,
): Promise<LoadedConfig> {
  const sources = new Map<string, FieldSource>();
  const configFlag = flags.config ?? env.ROWSHARD_CONFIG;
  let file: string | null = null;
  let job: Record<string, unknown>;
  let doc: ReturnType<typeof parseDocument> | null = null;
  const counter = new LineCounter();
  if (typeof configFlag === 'string' && configFlag !== '') {
    file = configFlag;
    if (!existsSync(file)) throw new RowshardError(ErrorCodes.BAD_CONFIG, `${file}: no such config file`, { file });
    doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: counter });
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const line = e.linePos?.[0]?.line ?? '?';
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `${file}:${line}: not valid YAML/JSON: ${e.message.split('\n')[0]}`, {
        file,
      });
    }
    const value = doc.toJS();
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `${file}: the config must be a mapping of job fields`, { file });
    job = value as Record<string, unknown>;
  } else {
    job = baseJob();
  }
  const cli: { metrics: string | null; dashboard: boolean; json: boolean; quiet: boolean } = {
    metrics: null,
    dashboard: false,
    json: false,
    quiet: false,
  };
  const apply = (option: TrainOption, raw: string | boolean, source: FieldSource, label: string) => {
    const value = convert(option, raw, label);
    if (option.path) {
      setPath(job, option.path, value);
      sources.set(option.path.replace('.*', ''), source);
    } else if (option.flag === 'metrics') cli.metrics = String(value);
    else if (option.flag === 'dashboard') cli.dashboard = value as boolean;
    else if (option.flag === 'json') cli.json = value as boolean;
    else if (option.flag === 'quiet') cli.quiet = value as boolean;
  };
  for (const option of trainOptions) {
    if (option.flag === 'config') continue;
    const fromEnv = env[option.env];
    if (fromEnv !== undefined) apply(option, fromEnv, { kind: 'env', env: option.env }, option.env);
  }
  for (const option of trainOptions) {
    if (option.flag === 'config') continue;
    const fromFlag = flags[option.flag];
    if (fromFlag !== undefined)
      apply(option, fromFlag as string | boolean, { kind: 'flag', flag: `--${option.flag}` }, `--${option.flag}`);
  }
  const base = file ? dirname(resolve(file)) : process.cwd();
  const where = (field: string): string => {
    for (const [path, src] of sources) {
      if (field === path || field.startsWith(`${path}.`))
        return src.kind === 'flag' ? src.flag : src.kind === 'env' ? src.env : `${file}:${src.line}`;
    }
    if (file && doc) {
      const line = lineOfPath(doc, counter, field);
      return line ? `${file}:${line}` : file;
    }
    return baseName;
  };
  // File paths: relative to the config file (or the working directory for flags/env).
  for (const field of pathFields) {
    const value = getPath(job, field);
    if (typeof value !== 'string' || isAbsolute(value)) continue;
    const fromCli = sources.get(field);
    setPath(job, field, resolve(fromCli && fromCli.kind !== 'file' ? process.cwd() : base, value));
  }
  absolutisePretrainedPaths(job, base);
  let scratchDir: string | null = null;
  const clusterChoice = cpus === null ? null : fillCluster(job, cpus);
  try {
    const epochs = job.epochs;
    delete job.epochs;
    if (epochs !== undefined && job.steps === undefined) job.steps = 1; // set from the data below
    const data = job.data as Record<string, unknown> | undefined;
    if (data?.kind === 'file') {
      for (const field of ['data.path', 'eval.data.path']) {
        const value = getPath(job, field);
        if (typeof value === 'string' && !existsSync(value)) {
          throw new RowshardError(ErrorCodes.BAD_CONFIG, `${field}: no such file ${value}`, { field });
        }
      }
      const checkpointDir = getPath(job, 'checkpoint.dir');
      const dataDir =
        typeof checkpointDir === 'string'
          ? join(checkpointDir, 'data')
          : (scratchDir = mkdtempSync(join(tmpdir(), 'rowshard-data-')));
      await prepareJobData(job, dataDir, typeof epochs === 'number' ? epochs : null);
    } else if (epochs !== undefined) {
      throw new RowshardError(ErrorCodes.BAD_CONFIG, 'epochs: needs file data (data.kind: file); use steps', { field: 'epochs' });
    }
    await validateJob(job);
  } catch (e) {
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
    if (e instanceof RowshardError && typeof e.details.field === 'string') {
      const field = e.details.field;
      const message = e.message.startsWith(`${field}:`) ? e.message : `${field}: ${e.message}`;
      throw new RowshardError(e.code, `${where(field)}: ${message}`, { ...e.details, file: file ?? undefined });
    }
    throw e;
  }
  for (const field of ['model.path', 'data.path', 'eval.data.path', 'initialState.fixture']) {
    const value = getPath(job, field);
    if (typeof value === 'string' && !existsSync(value)) {
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `${where(field)}: ${field}: no such file ${value}`, {
        field,
        file: file ?? undefined,
      });
    }
  }
  return { job, file, cli, where, scratchDir, clusterChoice };
}

/**
 * Everything the roles will check, checked here first so a mistake is reported against the
 * config file before any process starts: the job's fields, the model (a user module is
 * loaded), every table's and dense parameter's optimizer group, the freeze plan and table
 * overrides, and every pretrained table's file.
 */
async function validateJob(job: Record<string, unknown>): Promise<void> {
  checkPretrainedTables(await resolveJob(job, (p) => import(pathToFileURL(p).href)));
}

/**
 * File data: the vocabulary pass, then everything that depends on it: the data and eval specs
 * (vocabulary and label files, example counts), model options left out or set to "auto"
 * (vocabulary size, classes), and steps from epochs.
 */
async function prepareJobData(job: Record<string, unknown>, dir: string, epochs: number | null): Promise<void> {
  const spec = parseDataSpec(job.data, 'data') as FileDataSpec;
  const prepared = await prepareFileData(spec, dir);
  job.data = {
    ...(job.data as object),
    vocabFile: prepared.spec.vocabFile,
    labelsFile: prepared.spec.labelsFile,
    examples: prepared.examples,
  };
  const ev = job.eval as Record<string, unknown> | undefined;
  if (ev?.data && (ev.data as Record<string, unknown>).kind === 'file') {
    const evalSpec = await prepareEvalData(parseDataSpec(ev.data, 'eval.data') as FileDataSpec, prepared);
    ev.data = {
      ...(ev.data as object),
      vocabFile: evalSpec.vocabFile,
      labelsFile: evalSpec.labelsFile,
      examples: evalSpec.examples,
      shuffleBuffer: 0,
    };
  }
  const model = (job.model ?? {}) as Record<string, unknown>;
  const options = (model.options ?? {}) as Record<string, unknown>;
  const auto = (key: string, value: number) => {
    if (options[key] === undefined || options[key] === 'auto') options[key] = value;
  };
  if (model.name === 'fasttext') {
    auto('numWords', prepared.vocab.size);
    auto('numClasses', prepared.labels.size);
    auto('buckets', spec.wordNgrams > 1 ? spec.buckets : 0);
  } else if (model.name === 'text_classifier') {
    auto('vocabSize', prepared.vocab.size);
    auto('numClasses', prepared.labels.size);
  }
  model.options = options;
  if (epochs !== null) {
    const batchSize = typeof job.batchSize === 'number' ? job.batchSize : 1;
    job.steps = Math.max(1, Math.ceil((epochs * prepared.examples) / batchSize));
  }
}
