#!/usr/bin/env node

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { RowshardError } from '@rowshard/core';
import { exitWithParent } from '@rowshard/transport';
import { Coordinator } from './coordinator.js';

/**
 * The coordinator process:
 *   node packages/coordinator/dist/main.js --job job.json [--host H] [--port P]
 * Relative paths in the job (model.path, data.path, initialState.fixture, checkpoint.dir,
 * tables.*.pretrained.path/vocab) are resolved
 * against the job file's directory. Token from ROWSHARD_TOKEN. Prints JSON event lines on
 * stdout: listening, ready, progress, done.
 */
function absolutise(job: Record<string, unknown>, base: string): Record<string, unknown> {
  const abs = (p: unknown) => (typeof p === 'string' && !isAbsolute(p) ? resolve(base, p) : p);
  const out = structuredClone(job);
  const model = out.model as Record<string, unknown> | undefined;
  if (model && typeof model.path === 'string') model.path = abs(model.path);
  const data = out.data as Record<string, unknown> | undefined;
  if (data && typeof data.path === 'string') data.path = abs(data.path);
  for (const t of Object.values((out.tables ?? {}) as Record<string, { pretrained?: Record<string, unknown> }>)) {
    if (t?.pretrained && typeof t.pretrained.path === 'string') t.pretrained.path = abs(t.pretrained.path);
    if (t?.pretrained && typeof t.pretrained.vocab === 'string') t.pretrained.vocab = abs(t.pretrained.vocab);
  }
  const init = out.initialState as Record<string, unknown> | undefined;
  if (init && typeof init.fixture === 'string') init.fixture = abs(init.fixture);
  const checkpoint = out.checkpoint as Record<string, unknown> | undefined;
  if (checkpoint && typeof checkpoint.dir === 'string') checkpoint.dir = abs(checkpoint.dir);
  return out;
}

function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
}

const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      job: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      dashboard: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.job) throw new Error('--job <file> is required');
  const job = absolutise(readJson(values.job) as Record<string, unknown>, dirname(resolve(values.job)));
  const coordinator = await Coordinator.start({
    job,
    host: values.host,
    port: Number(values.port),
    token: process.env.ROWSHARD_TOKEN ?? null,
    importModule: (p) => import(pathToFileURL(p).href),
    readJson,
    dashboard: values.dashboard,
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
    }),
  );
  if (coordinator.resumedFrom) emit({ event: 'resume', ...coordinator.resumedFrom });
  for (const name of ['checkpoint', 'recovering', 'recovered', 'shards', 'eval'] as const) {
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
    ...(values.dashboard ? { dashboard: `${http}/` } : {}),
  });
  const stop = () => {
    coordinator.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  exitWithParent(() => coordinator.close());
}

main().catch((e: unknown) => {
  const msg = e instanceof RowshardError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`rowshard coordinator: ${msg}\n`);
  process.exit(2);
});
