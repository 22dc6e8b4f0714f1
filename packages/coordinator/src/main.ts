#!/usr/bin/env node
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RowshardError } from '@rowshard/core';
import { absolutiseJobPaths, readJsonFile, runCoordinatorProcess } from './process.js';

/**
 * The coordinator process:
 *   node packages/coordinator/dist/main.js --job job.json [--host H] [--port P] [--dashboard]
 * (env: ROWSHARD_JOB, ROWSHARD_HOST, ROWSHARD_PORT, ROWSHARD_DASHBOARD). The job is JSON as
 * `rowshard train` prepares it; `rowshard coordinator --config job.yaml` reads YAML and runs
 * the same checks first. Relative paths in the job resolve against the job file's directory.
 * The cluster token comes from ROWSHARD_TOKEN.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      job: { type: 'string', default: process.env.ROWSHARD_JOB },
      host: { type: 'string', default: process.env.ROWSHARD_HOST ?? '127.0.0.1' },
      port: { type: 'string', default: process.env.ROWSHARD_PORT ?? '0' },
      dashboard: { type: 'boolean', default: ['1', 'true'].includes(process.env.ROWSHARD_DASHBOARD ?? '') },
    },
    strict: true,
  });
  if (!values.job) throw new Error('--job <file> is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const job = absolutiseJobPaths(readJsonFile(values.job) as Record<string, unknown>, dirname(resolve(values.job)));
  await runCoordinatorProcess({ job, host: values.host as string, port, dashboard: values.dashboard === true });
}

main().catch((e: unknown) => {
  const msg = e instanceof RowshardError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`rowshard coordinator: ${msg}\n`);
  process.exit(2);
});
