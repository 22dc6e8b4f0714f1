#!/usr/bin/env node
import { RowshardError } from '@rowshard/core';
import { commands, usage } from './commands/index.js';

/**
 * The rowshard command line. Each subcommand returns its exit code; every RowshardError
 * (bad flag, bad config, bad fixture, bad data) is printed as one line with its code and
 * exits 2, never as a stack trace. Unexpected errors keep their stack: they are our bugs.
 */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`rowshard: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof RowshardError) {
      process.stderr.write(`rowshard: ${err.code}: ${err.message}\n`);
    } else {
      process.stderr.write(`rowshard: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 2;
  },
);
