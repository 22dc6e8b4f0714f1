#!/usr/bin/env node
import { dirname, resolve } from 'node:path';
import { RowshardError } from '@rowshard/core';
import { roleArguments } from '@rowshard/transport';
import { parseCoordinatorArgs } from './args.js';
import { absolutiseJobPaths, readJsonFile, runCoordinatorProcess } from './process.js';

/**
 * The coordinator process; parseCoordinatorArgs (args.ts) lists its flags and environment
 * variables. The job is JSON as `rowshard train` prepares it; `rowshard coordinator --config
 * job.yaml` reads YAML and runs the same checks first. Relative paths in the job resolve
 * against the job file's directory.
 */
async function main(): Promise<void> {
  const { job: file, ...serve } = parseCoordinatorArgs(await roleArguments(), process.env);
  const job = absolutiseJobPaths(readJsonFile(file) as Record<string, unknown>, dirname(resolve(file)));
  await runCoordinatorProcess({ job, ...serve });
}

main().catch((e: unknown) => {
  const msg = e instanceof RowshardError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`rowshard coordinator: ${msg}\n`);
  process.exit(2);
});
