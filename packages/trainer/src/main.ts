#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { RowshardError } from '@rowshard/core';
import { runTrainerProcess } from './process.js';

/**
 * A trainer process:
 *   node packages/trainer/dist/main.js --coordinator ws://host:port [--workers N]
 * (env: ROWSHARD_COORDINATOR, ROWSHARD_WORKERS). Exits 0 when its workers finish, 1 if one failed.
 */
const { values } = parseArgs({
  options: {
    coordinator: { type: 'string', default: process.env.ROWSHARD_COORDINATOR },
    workers: { type: 'string', default: process.env.ROWSHARD_WORKERS },
  },
  strict: true,
});

runTrainerProcess(values).then(
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
