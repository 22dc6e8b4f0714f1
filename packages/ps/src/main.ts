#!/usr/bin/env node
import { RowshardError } from '@rowshard/core';
import { roleArguments } from '@rowshard/transport';
import { parsePsArgs } from './args.js';
import { runPsProcess } from './process.js';

/** A parameter-server process; parsePsArgs (args.ts) lists its flags and environment variables. */
async function main(): Promise<void> {
  await runPsProcess(parsePsArgs(await roleArguments(), process.env));
}

main().catch((e: unknown) => {
  const msg = e instanceof RowshardError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`rowshard ps: ${msg}\n`);
  process.exit(2);
});
