import { ErrorCodes, RowshardError } from '@rowshard/core';
import { didYouMean } from './suggest.js';

/**
 * One option of a command: the table that parses its flag, converts and checks its value,
 * and writes its line of `--help`. Every command declares its options this way, so the help
 * cannot drift from what is parsed.
 */
export interface OptionSpec {
  /** The flag without dashes (`checkpoint-dir`, fastText's `wordNgrams`). */
  readonly name: string;
  readonly type: 'int' | 'number' | 'string' | 'boolean';
  readonly help: string;
  /** The value's placeholder in help (`FILE`, `N`); derived from the type when left out. */
  readonly value?: string;
  readonly choices?: readonly string[];
  /** The smallest value an int or number may take. */
  readonly min?: number;
  /** Whether `min` itself is excluded (a learning rate may be 0, a number of epochs may not). */
  readonly minExclusive?: boolean;
  /** The environment variable that sets it too, for help. */
  readonly env?: string;
  /** The default, as help shows it. */
  readonly default?: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly help: string;
  readonly optional?: boolean;
}

export interface CommandLineSpec {
  readonly command: string;
  readonly summary: string;
  /** `--flag` (GNU style) or `-flag` (fastText's single dash; `--flag` is accepted too). */
  readonly dash: '--' | '-';
  readonly options: readonly OptionSpec[];
  readonly positionals?: readonly PositionalSpec[];
  /** Lines after the option list: examples, notes. */
  readonly notes?: readonly string[];
}

/** `--help` or `-h` was given: the caller prints `text` on stdout and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

export type OptionValue = string | number | boolean;

export interface ParsedCommandLine {
  /** Given options, converted and checked, by name. */
  readonly values: Record<string, OptionValue>;
  readonly positionals: string[];
}

const usageError = (command: string, message: string) =>
  new RowshardError(ErrorCodes.BAD_CONFIG, `${command}: ${message}`, { field: 'argv' });

/** A number as a command line writes one: `-1`, `0.5`, `-1e-3`, `.5`. */
const numberLike = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * Converts an option's text and checks it: `source` names where it came from (`--lr`,
 * `ROWSHARD_LR`) in the message. Negative numbers are numbers here; whether one is allowed
 * is the option's `min`.
 */
export function convertOption(option: OptionSpec, raw: string | boolean | number, source: string): OptionValue {
  const bad = (why: string) =>
    new RowshardError(ErrorCodes.BAD_CONFIG, `${source}: ${why}, got ${JSON.stringify(raw)}`, { field: option.name });
  if (option.type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    const text = String(raw).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(text)) return false;
    throw bad('must be true or false');
  }
  const text = String(raw).trim();
  if (option.type === 'int' || option.type === 'number') {
    const n = text === '' ? Number.NaN : Number(text);
    const integer = option.type === 'int';
    const min = option.min;
    const what =
      min === undefined
        ? integer
          ? 'an integer'
          : 'a number'
        : min === 0 && !option.minExclusive
          ? `a non-negative ${integer ? 'integer' : 'number'}`
          : (min === 1 && integer) || (min === 0 && option.minExclusive)
            ? `a positive ${integer ? 'integer' : 'number'}`
            : `${integer ? 'an integer' : 'a number'} ${option.minExclusive ? 'above' : 'of at least'} ${min}`;
    if (!Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) throw bad(`must be ${what}`);
    if (min !== undefined && (option.minExclusive ? n <= min : n < min)) throw bad(`must be ${what}`);
    return n;
  }
  if (option.choices && !option.choices.includes(text)) throw bad(`must be one of ${option.choices.join(', ')}`);
  return String(raw);
}

/**
 * Parses a command's arguments against its option table. `--name value` and `--name=value`
 * (fastText commands: `-name value`); a value-taking option takes the next argument even
 * when it starts with a dash (`--lr -1`, `-lr -0.5`), unless that is one of the command's
 * own flags (then the value is missing). `--` ends the options. `--help`/`-h` throws
 * HelpRequested with the command's help; an unknown option is refused with the nearest
 * known one.
 */
export function parseCommandLine(spec: CommandLineSpec, argv: readonly string[], help: () => string): ParsedCommandLine {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const values: Record<string, OptionValue> = {};
  const positionals: string[] = [];
  const flagOf = (arg: string): string | null => {
    if (arg === '-' || !arg.startsWith('-') || numberLike.test(arg)) return null;
    return arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
  };
  const isOwnFlag = (arg: string) => {
    const name = flagOf(arg);
    if (name === null) return false;
    return byName.has(name.split('=')[0]) || name === 'help' || name === 'h';
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const name = flagOf(arg);
    if (name === null) {
      positionals.push(arg);
      continue;
    }
    if (name === 'help' || name === 'h') throw new HelpRequested(help());
    const eq = name.indexOf('=');
    const key = eq >= 0 ? name.slice(0, eq) : name;
    const shown = `${arg.startsWith('--') ? '--' : '-'}${key}`;
    const option = byName.get(key);
    if (!option || (spec.dash === '--' && !arg.startsWith('--'))) {
      const known = spec.options.map((o) => o.name);
      const hint = didYouMean(key, known);
      throw usageError(
        spec.command,
        `unknown option ${shown}${hint ? ` (did you mean ${spec.dash}${hint}?)` : ''}; \`rowshard ${spec.command} --help\` lists the options`,
      );
    }
    let raw: string | boolean;
    if (eq >= 0) raw = name.slice(eq + 1);
    else if (option.type === 'boolean') raw = true;
    else {
      const next = argv[i + 1];
      if (next === undefined || isOwnFlag(next)) throw usageError(spec.command, `${shown} needs a value`);
      raw = next;
      i++;
    }
    values[option.name] = convertOption(option, raw, shown);
  }
  return { values, positionals };
}
