#!/usr/bin/env node
import { RowshardError } from '@rowshard/core';
import { parseTrainerArgs } from './args.js';
import { runTrainerProcess } from './process.js';

/**
 * A trainer process; parseTrainerArgs (args.ts) lists its flags and environment variables.
 * Exits 0 when its workers finish, 1 if one failed.
 */
async function main(): Promise<number> {
  return runTrainerProcess(parseTrainerArgs(process.argv.slice(2), process.env));
}

main().then(
  (code) => {
    // Let the event loop drain (profiles, log flushes) instead of exiting abruptly.
    process.exitCode = code;
  },
  (e: unknown) => {
    const msg = e instanceof RowshardError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    process.stderr.write(`rowshard trainer: ${msg}\n`);
    process.exit(1);
  },
);
