import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ErrorCodes, RowshardError } from '@rowshard/core';
import { HelpRequested } from '../command-line/parse.js';
import { didYouMean } from '../command-line/suggest.js';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  /** `rowshard <command> --help`; commands without it print help from parseFlags' table. */
  help?(): string;
  run(argv: string[]): Promise<number>;
}

/** node:util parseArgs in strict mode, with its errors turned into E_BAD_CONFIG lines. */
export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

type FlagTable = NonNullable<ParseArgsConfig['options']>;

/** The option lines of `--help` for a parseArgs table (flags and whether they take a value). */
export function flagTableHelp(options: FlagTable): string {
  const lines = Object.entries(options).map(([name, o]) => {
    const flag = `${name.length === 1 ? '-' : '--'}${name}${o.short ? `, -${o.short}` : ''}`;
    return `  ${flag}${o.type === 'string' ? ' VALUE' : ''}`;
  });
  return `options:\n${[...lines, '  -h, --help'].join('\n')}\n`;
}

/**
 * node:util parseArgs in strict mode, with its errors turned into E_BAD_CONFIG lines; an
 * unknown flag is named with the nearest known one, and `--help` throws HelpRequested with
 * the table's options (the caller adds the usage line).
 */
export function parseFlags(
  command: string,
  argv: string[],
  options: FlagTable,
  allowPositionals = true,
): { values: FlagValues; positionals: string[] } {
  const end = argv.indexOf('--');
  const flags = end >= 0 ? argv.slice(0, end) : argv;
  if (flags.includes('--help') || flags.includes('-h')) throw new HelpRequested(flagTableHelp(options));
  for (const arg of flags) {
    const m = /^--([^=]+)/.exec(arg);
    if (m && !(m[1] in options)) {
      const hint = didYouMean(m[1], Object.keys(options));
      throw usageError(command, `unknown option --${m[1]}${hint ? ` (did you mean --${hint}?)` : ''}`);
    }
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: values as FlagValues, positionals };
  } catch (e) {
    throw new RowshardError(ErrorCodes.BAD_CONFIG, `${command}: ${(e as Error).message}`, { field: 'argv' });
  }
}

export function usageError(command: string, message: string): RowshardError {
  return new RowshardError(ErrorCodes.BAD_CONFIG, `${command}: ${message}`, { field: 'argv' });
}
