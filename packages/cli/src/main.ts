#!/usr/bin/env node
import { createRequire } from 'node:module';
import { HelpRequested } from './command-line/parse.js';
import { didYouMean } from './command-line/suggest.js';
import type { Command } from './commands/command.js';
import { commandNames, loadCommand, usage } from './commands/index.js';
import { describeFailure, handleStrayFailures } from './output/failure.js';

/**
 * The rowshard command line. Each subcommand returns its exit code. Every failure takes one
 * path (describeFailure): one line on stderr and an exit code, never a stack trace (set
 * ROWSHARD_DEBUG=1 to see one); output closed early (`rowshard predict ... | head`) ends
 * quietly.
 */
function version(): string {
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  return pkg.version;
}

function helpOf(command: Command): string {
  return command.help ? command.help() : `usage: ${command.usage}\n\n${command.summary}\n`;
}

/** Whether `argv` asks for help before any `--`. */
function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const flags = end >= 0 ? argv.slice(0, end) : argv;
  return flags.includes('--help') || flags.includes('-h');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    process.stdout.write(await usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`rowshard ${version()}\n`);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      process.stdout.write(await usage());
      return 0;
    }
    const command = await loadCommand(topic);
    if (!command) return unknownCommand(topic);
    process.stdout.write(helpOf(command));
    return 0;
  }
  const command = await loadCommand(name);
  if (!command) return unknownCommand(name);
  if (command.help && wantsHelp(rest)) {
    process.stdout.write(command.help());
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (!(e instanceof HelpRequested)) throw e;
    // A command whose flags parseArgs reads: its usage line, then the table's options.
    process.stdout.write(command.help ? command.help() : `usage: ${command.usage}\n\n${command.summary}\n\n${e.text}`);
    return 0;
  }
}

async function unknownCommand(name: string): Promise<number> {
  const hint = didYouMean(name, commandNames);
  process.stderr.write(
    `rowshard: unknown command '${name}'${hint ? ` (did you mean 'rowshard ${hint}'?)` : ''}\n\n${await usage()}`,
  );
  return 2;
}

handleStrayFailures();
// `pnpm -C <repository> rowshard ...` runs this script in the repository; the user's paths are
// relative to where they typed the command, which pnpm passes as INIT_CWD.
if (process.env.npm_lifecycle_event === 'rowshard' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const failure = describeFailure(err, process.env.ROWSHARD_DEBUG === '1');
    if (failure.message) process.stderr.write(`${failure.message}\n`);
    process.exitCode = failure.exitCode;
  },
);
