import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { RowshardError } from '@rowshard/core';
import { exitWithParent, listeningRoleToken, userModuleImporter } from '@rowshard/transport';
import { Coordinator } from './coordinator.js';
import { absolutisePretrainedPaths } from './pretrained.js';

/**
 * The coordinator as a process: starts it, prints its JSON event lines on stdout (listening,
 * ready, progress, eval, checkpoint, checkpoint_failed, checkpoint_skipped, resume,
 * recovering, recovered, done, stopped; faults on stderr), takes a
 * checkpoint on SIGUSR2, and shuts down on SIGTERM/SIGINT or when its launcher goes away.
 * Used by `node packages/coordinator/dist/main.js` and by `rowshard coordinator`.
 */
export interface CoordinatorProcessOptions {
  /** The job as JSON, every path absolute. */
  readonly job: Record<string, unknown>;
  readonly host: string;
  readonly port: number;
  readonly dashboard: boolean;
}

/** Makes the job's relative paths absolute against `base` (the job file's directory). */
export function absolutiseJobPaths(job: Record<string, unknown>, base: string): Record<string, unknown> {
  const abs = (p: unknown) => (typeof p === 'string' && !isAbsolute(p) ? resolve(base, p) : p);
  const out = structuredClone(job);
  const model = out.model as Record<string, unknown> | undefined;
  if (model && typeof model.path === 'string') model.path = abs(model.path);
  for (const data of [out.data, (out.eval as Record<string, unknown> | undefined)?.data] as (
    | Record<string, unknown>
    | undefined
  )[]) {
    if (!data) continue;
    for (const k of ['path', 'vocabFile', 'labelsFile']) if (typeof data[k] === 'string') data[k] = abs(data[k]);
  }
  absolutisePretrainedPaths(out, base);
  const init = out.initialState as Record<string, unknown> | undefined;
  if (init && typeof init.fixture === 'string') init.fixture = abs(init.fixture);
  const dense = init?.dense as Record<string, unknown> | undefined;
  if (dense && typeof dense === 'object') for (const k of Object.keys(dense)) dense[k] = abs(dense[k]);
  const checkpoint = out.checkpoint as Record<string, unknown> | undefined;
  if (checkpoint && typeof checkpoint.dir === 'string') checkpoint.dir = abs(checkpoint.dir);
  return out;
}

export function readJsonFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
}

const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

export async function runCoordinatorProcess(options: CoordinatorProcessOptions): Promise<Coordinator> {
  // Refused before anything listens: beyond loopback only with a strong token.
  const { token, warning } = listeningRoleToken(process.env, 'coordinator', options.host);
  if (warning) process.stderr.write(`${JSON.stringify({ event: 'warning', reason: warning })}\n`);
  const coordinator = await Coordinator.start({
    job: options.job,
    host: options.host,
    port: options.port,
    token,
    importModule: userModuleImporter(import.meta.resolve('@rowshard/nn')),
    readJson: readJsonFile,
    dashboard: options.dashboard,
  });
  coordinator.on('ready', (info) => emit({ event: 'ready', ...info }));
  coordinator.on('progress', (entry) => emit(entry));
  coordinator.on('fault', (reason) => process.stderr.write(`${JSON.stringify({ event: 'fault', reason })}\n`));
  coordinator.on('done', (r) =>
    emit({
      event: 'done',
      steps: r.steps,
      examples: r.examples,
      seconds: r.seconds,
      finalLoss: r.losses.at(-1),
      recoveries: r.recoveries,
      checkpointsWritten: r.checkpointsWritten,
      checkpointsFailed: r.checkpointsFailed,
      lastCheckpointStep: r.lastCheckpointStep,
    }),
  );
  if (coordinator.storageUnchecked) {
    process.stderr.write(`${JSON.stringify({ event: 'warning', reason: coordinator.storageUnchecked })}\n`);
  }
  // Shared checkpoint storage failed its check: say so on both streams and exit 2, like any
  // other configuration error found at start.
  coordinator.on('stopped', (e: RowshardError) => {
    emit({ event: 'stopped', code: e.code, reason: e.message });
    process.stderr.write(`rowshard coordinator: ${e.code}: ${e.message}\n`);
    coordinator.close().then(() => process.exit(2));
  });
  for (const skipped of coordinator.skippedAtStart) emit({ event: 'checkpoint_skipped', ...skipped });
  if (coordinator.resumedFrom) emit({ event: 'resume', ...coordinator.resumedFrom });
  for (const name of [
    'checkpoint',
    'checkpoint_failed',
    'checkpoint_skipped',
    'recovering',
    'recovered',
    'shards',
    'eval',
  ] as const) {
    coordinator.on(name, (info) => emit({ event: name, ...(Array.isArray(info) ? { shards: info } : info) }));
  }
  process.on('SIGUSR2', () => coordinator.requestCheckpoint());
  const http = coordinator.url.replace(/^ws:/, 'http:');
  emit({
    event: 'listening',
    pid: process.pid,
    role: 'coordinator',
    url: coordinator.url,
    metrics: `${http}/metrics`,
    ...(options.dashboard ? { dashboard: `${http}/` } : {}),
  });
  const stop = () => {
    coordinator.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  exitWithParent(() => coordinator.close());
  return coordinator;
}
