import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { absolutisePretrainedPaths, checkPretrainedTables } from '@rowshard/coordinator/files';
import { configError, describe, ErrorCodes, type FastTextDictionary, jobDefaults, RowshardError } from '@rowshard/core';
import { resolveJob } from '@rowshard/nn';
import { userModuleImporter } from '@rowshard/transport/launch';
import { convertOption } from '../command-line/parse.js';
import { type PreparedData, writePreparedData } from '../data-prep.js';
import { fillCluster, fillPrefetch, type MachineSizing } from './cluster-choice.js';
import { demoJob } from './demo-job.js';
import { prepareJobData } from './job-data.js';
import { optionSpecOf, type TrainOption, trainOptions } from './options.js';

/** Passes over file data when a job gives neither steps nor epochs (fastText's default). */
export const DEFAULT_FILE_EPOCHS = 5;

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
  /** A temporary directory for this run's vocabulary files (made by writeFiles), to remove afterwards. */
  readonly scratchDir: string | null;
  /**
   * Writes what the job needs on disk before it starts (file data: the vocabulary and label
   * files). Nothing is written while loading: a job is checked whole first.
   */
  writeFiles(): void;
  /** What cluster was picked for this machine, when the job left it out (`rowshard train`); null otherwise. */
  readonly clusterChoice: string | null;
  /** File data: lines the data pass left out (fastText features: no label, or no known word); 0 otherwise. */
  readonly skippedLines: number;
  /** File data with fastText features: the dictionary the data pass built (what writeFiles saves); null otherwise. */
  readonly fastTextDictionary: FastTextDictionary | null;
}

type FieldSource = { kind: 'file'; line: number } | { kind: 'flag'; flag: string } | { kind: 'env'; env: string };

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

/** How strongly a setting was given: a flag over an environment variable over the file (or base job). */
const levelOf = (source: FieldSource | undefined): number =>
  source === undefined ? 1 : source.kind === 'flag' ? 3 : source.kind === 'env' ? 2 : 1;

/**
 * Builds a job from a config file (YAML or JSON), then the environment, then flags, and
 * validates it. Every error names where the bad value came from: the file and line, the
 * flag, or the environment variable, and the field. Without a config file the job is the
 * base job (the demo), or, when training data is given (`--data`), the defaults alone: flags
 * make a whole job. Nothing is written: the caller runs `writeFiles()` once it is ready.
 */
export async function loadTrainConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  /** The job when no config file is given (default: the built-in demo), and what to call it in messages. */
  baseJob: () => Record<string, unknown> = demoJob,
  baseName = 'the built-in demo job',
  /** CPUs to size a cluster the job leaves out for (rowshard train; with the command's fewest workers); null keeps the job's defaults (a cluster's coordinator). */
  cpus: number | MachineSizing | null = null,
  /**
   * Told the job's cluster section once the flags and the machine's sizing have filled it, before
   * the data pass and the checks: a launcher starts its processes then (RoleStandby). A guess
   * as good as the job: the checks that follow may still reject it.
   */
  onCluster?: (cluster: Readonly<Record<string, unknown>> | undefined) => void,
): Promise<LoadedConfig> {
  const sources = new Map<string, FieldSource>();
  const fromEnv = (name: string) => (env[name] === '' ? undefined : env[name]);
  const configFlag = flags.config ?? fromEnv('ROWSHARD_CONFIG');
  let file: string | null = null;
  let job: Record<string, unknown>;
  // Where each field of the config file is (for messages); yaml is loaded only for a file.
  let lineOf: ((field: string) => number | null) | null = null;
  if (typeof configFlag === 'string' && configFlag !== '') {
    file = configFlag;
    if (!existsSync(file)) throw new RowshardError(ErrorCodes.BAD_CONFIG, `${file}: no such config file`, { file });
    const { parseWithLines } = await import('./yaml-lines.js');
    const { doc, lineOf: lineOfField } = parseWithLines(readFileSync(file, 'utf8'));
    lineOf = lineOfField;
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
  } else if (flags.data !== undefined || fromEnv('ROWSHARD_DATA') !== undefined) {
    // Training data on the command line: a job of flags and documented defaults, not the demo.
    job = {};
    baseName = 'the defaults';
  } else {
    job = baseJob();
  }
  const cli: { metrics: string | null; dashboard: boolean; json: boolean; quiet: boolean } = {
    metrics: null,
    dashboard: false,
    json: false,
    quiet: false,
  };
  const apply = (option: TrainOption, raw: string | boolean | number, source: FieldSource, label: string) => {
    const value = convertOption(optionSpecOf(option), raw, label);
    if (option.path) {
      // A data file replaces generated data: the synthetic kind's fields do not apply to it.
      if (option.path === 'data.path' && getPath(job, 'data.kind') !== 'file')
        job.data = { kind: 'file', ...(sources.has('data.format') ? { format: getPath(job, 'data.format') } : {}) };
      if (option.path === 'eval.data.path' && getPath(job, 'eval.data.kind') !== 'file')
        job.eval = { ...((job.eval as object | undefined) ?? {}), data: { kind: 'file' } };
      // An lr for every group needs the groups: the default ones when the job names none.
      if (option.path.startsWith('optimizers.*') && job.optimizers === undefined) job.optimizers = defaultOptimizerGroups();
      setPath(job, option.path, value);
      sources.set(option.path.replace('.*', ''), source);
    } else if (option.flag === 'metrics') cli.metrics = String(value);
    else if (option.flag === 'dashboard') cli.dashboard = value as boolean;
    else if (option.flag === 'json') cli.json = value as boolean;
    else if (option.flag === 'quiet') cli.quiet = value as boolean;
  };
  for (const option of trainOptions) {
    if (option.flag === 'config') continue;
    const raw = fromEnv(option.env);
    if (raw !== undefined) apply(option, raw, { kind: 'env', env: option.env }, option.env);
  }
  for (const option of trainOptions) {
    if (option.flag === 'config') continue;
    const fromFlag = flags[option.flag];
    if (fromFlag !== undefined)
      apply(option, fromFlag as string | boolean | number, { kind: 'flag', flag: `--${option.flag}` }, `--${option.flag}`);
  }
  const base = file ? dirname(resolve(file)) : process.cwd();
  const where = (field: string): string => {
    for (const [path, src] of sources) {
      if (field === path || field.startsWith(`${path}.`))
        return src.kind === 'flag' ? src.flag : src.kind === 'env' ? src.env : `${file}:${src.line}`;
    }
    if (file && lineOf) {
      const line = lineOf(field);
      return line ? `${file}:${line}` : file;
    }
    return baseName;
  };
  const fail = (e: unknown): never => {
    if (e instanceof RowshardError && typeof e.details.field === 'string') {
      const field = e.details.field;
      const message = e.message.startsWith(`${field}:`) ? e.message : `${field}: ${e.message}`;
      throw new RowshardError(e.code, `${where(field)}: ${message}`, { ...e.details, file: file ?? undefined });
    }
    throw e;
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
  let prepared: PreparedData | null = null;
  const picked =
    cpus === null ? null : typeof cpus === 'number' ? fillCluster(job, cpus) : fillCluster(job, cpus.cpus, cpus.minWorkers);
  const prefetching = cpus !== null && fillPrefetch(job, typeof cpus === 'number' ? cpus : cpus.cpus);
  const clusterChoice =
    picked && prefetching ? `${picked}; ASP workers pull a step ahead (sync.prefetch: a core per process)` : picked;
  try {
    const checkpointFlag = [...sources.keys()].find((k) => k.startsWith('checkpoint.'));
    if (checkpointFlag && typeof getPath(job, 'checkpoint.dir') !== 'string')
      throw configError(checkpointFlag, 'needs a checkpoint directory: give --checkpoint-dir DIR (or checkpoint.dir in the job)');
    if (sources.has('data.format') && getPath(job, 'data.kind') !== 'file')
      throw configError('data.format', 'needs file data: give --data FILE (or data: { kind: file, path } in the job)');
    const epochs = stepsOrEpochs(job, sources);
    const data = job.data as Record<string, unknown> | undefined;
    if (data?.kind === 'file') {
      for (const field of ['data.path', 'eval.data.path']) {
        const value = getPath(job, field);
        if (typeof value === 'string' && !existsSync(value)) {
          throw new RowshardError(ErrorCodes.BAD_CONFIG, `${field}: no such file ${value}`, { field });
        }
      }
    } else if (epochs !== null) {
      throw configError('epochs', 'needs file data (data.kind: file); use steps');
    }
    // Click-through files are read whole by each worker: a missing one stops the run here, not in a worker.
    for (const field of ['data', 'eval.data']) {
      const spec = getPath(job, field) as Record<string, unknown> | undefined;
      if (spec?.kind === 'ctr_file' && typeof spec.path === 'string' && !existsSync(spec.path))
        throw new RowshardError(ErrorCodes.BAD_CONFIG, `${field}.path: no such file ${spec.path}`, { field: `${field}.path` });
    }
    // The cheap checks passed: the processes may start while the data is read and the job checked.
    onCluster?.(job.cluster as Readonly<Record<string, unknown>> | undefined);
    if (data?.kind === 'file') {
      const checkpointDir = getPath(job, 'checkpoint.dir');
      // Where the vocabulary files will go; nothing is made there until writeFiles().
      const dataDir =
        typeof checkpointDir === 'string'
          ? join(checkpointDir, 'data')
          : (scratchDir = join(tmpdir(), `rowshard-data-${process.pid}-${randomBytes(6).toString('hex')}`));
      prepared = await prepareJobData(job, dataDir, epochs ?? (job.steps === undefined ? DEFAULT_FILE_EPOCHS : null));
    }
    await validateJob(job);
  } catch (e) {
    fail(e);
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
  const ready = prepared;
  return {
    job,
    file,
    cli,
    where,
    scratchDir,
    clusterChoice,
    skippedLines: ready?.skippedLines ?? 0,
    fastTextDictionary: ready?.dictionary ?? null,
    writeFiles: () => {
      if (ready) writePreparedData(ready);
    },
  };
}

/** The optimizer groups a job without any gets (jobDefaults). */
function defaultOptimizerGroups(): Record<string, Record<string, unknown>> {
  const { embeddings, dense } = jobDefaults.optimizers;
  return { embeddings: { ...embeddings }, dense: { ...dense } };
}

/**
 * Steps or epochs, by precedence: the one given by the stronger source (flag, then
 * environment, then file) wins and the other is dropped; both from the same place is a
 * mistake. Epochs must be a positive number. Returns the epochs to turn into steps, or null.
 */
function stepsOrEpochs(job: Record<string, unknown>, sources: Map<string, FieldSource>): number | null {
  if (job.steps !== undefined && job.epochs !== undefined) {
    const steps = levelOf(sources.get('steps'));
    const epochs = levelOf(sources.get('epochs'));
    if (steps === epochs) throw configError('epochs', 'give steps or epochs, not both');
    if (steps > epochs) delete job.epochs;
    else delete job.steps;
  }
  const epochs = job.epochs;
  delete job.epochs;
  if (epochs === undefined) return null;
  if (typeof epochs !== 'number' || !Number.isFinite(epochs) || epochs <= 0)
    throw configError('epochs', `must be a positive number, got ${describe(epochs)}`);
  return epochs;
}

/**
 * Everything the roles will check, checked here first so a mistake is reported against the
 * config file before any process starts: the job's fields, the model (a user module is
 * loaded), every table's and dense parameter's optimizer group, the freeze plan and table
 * overrides, and every pretrained table's file.
 */
async function validateJob(job: Record<string, unknown>): Promise<void> {
  checkPretrainedTables(await resolveJob(job, userModuleImporter(import.meta.resolve('@rowshard/nn'))));
}
