import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ErrorCodes, RowshardError } from '@rowshard/core';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(argv: string[]): Promise<number>;
}

/** node:util parseArgs in strict mode, with its errors turned into E_BAD_CONFIG lines. */
export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function parseFlags(
  command: string,
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  allowPositionals = true,
): { values: FlagValues; positionals: string[] } {
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
