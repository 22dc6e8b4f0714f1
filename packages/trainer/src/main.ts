#!/usr/bin/env node
import { ErrorCodes, EXIT_NOT_RETRYABLE, isTransientError, RowshardError } from '@rowshard/core';
import { roleArguments, startedAhead } from '@rowshard/transport';
import { parseTrainerArgs, workersFromEnv } from './args.js';
import { runTrainerProcess, workerPool } from './process.js';

/**
 * A trainer process; parseTrainerArgs (args.ts) lists its flags and environment variables.
 * Exits 0 when its workers finish; 1 if one failed in a way a restart may cure (a lost
 * connection, a timeout); EXIT_NOT_RETRYABLE (3) after a deterministic error (the model's, the
 * data's), with a `fatal` event line saying what.
 */
async function main(): Promise<number> {
  // Started ahead of its job (--args-on-stdin) with its thread count in the environment
  // (ROWSHARD_WORKERS), the trainer starts its threads while it waits for its arguments: a
  // thread takes as long to load its modules as the process did.
  const ahead = startedAhead() ? (workersFromEnv(process.env) ?? 0) : 0;
  // A count past 256 waits for the job's check before any thread starts.
  const threads = ahead > 0 && ahead <= 256 ? workerPool(ahead) : null;
  return runTrainerProcess(parseTrainerArgs(await roleArguments(), process.env), threads);
}

main().then(
  (code) => {
    // Let the event loop drain (profiles, log flushes) instead of exiting abruptly.
    process.exitCode = code;
  },
  (e: unknown) => {
    const code = e instanceof RowshardError ? e.code : ErrorCodes.INTERNAL;
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`rowshard trainer: ${code}: ${msg}\n`);
    // A model's bug or bad data would fail the same way again: say so, so a launcher does not restart this.
    if (isTransientError(e)) process.exit(1);
    process.stdout.write(`${JSON.stringify({ event: 'fatal', role: 'trainer', code, message: msg })}\n`, () =>
      process.exit(EXIT_NOT_RETRYABLE),
    );
  },
);
