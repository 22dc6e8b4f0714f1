import { type ParseArgsConfig, parseArgs } from 'node:util';
import { configError, describe, ErrorCodes, RowshardError } from '@rowshard/core';

/**
 * Flags and environment variables of the role processes (ps, trainer, coordinator): each
 * role's args.ts reads its settings with these, for its own main.ts and for the CLI's role
 * commands alike. A flag wins over its environment variable; every bad value is an
 * E_BAD_CONFIG that names the flag or the variable it came from.
 */
export type ArgvOptions = NonNullable<ParseArgsConfig['options']>;

export type ArgvValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

/** A setting as given, and where: `--port` or `ROWSHARD_PORT`. */
export interface GivenArg {
  readonly value: string | boolean;
  readonly from: string;
}

/**
 * One flag of a role process, declared once: the table parseArgv reads it with and the
 * `rowshard <role> --help` lines are written from.
 */
export interface ArgSpec {
  readonly flag: string;
  readonly help: string;
  readonly env?: string;
  /** The value's placeholder (`N`, `URL`); absent for a boolean flag. */
  readonly value?: string;
}

/** The parseArgv table of some ArgSpecs. */
export function argvOptionsOf(specs: readonly ArgSpec[]): ArgvOptions {
  return Object.fromEntries(specs.map((s) => [s.flag, { type: s.value === undefined ? 'boolean' : 'string' }]));
}

/** node:util parseArgs, strict and without positionals, its errors as E_BAD_CONFIG. */
export function parseArgv(argv: readonly string[], options: ArgvOptions): ArgvValues {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new RowshardError(ErrorCodes.BAD_CONFIG, (e as Error).message, { field: 'argv' });
  }
}

/**
 * The flag's value, else the environment variable's. An empty variable counts as unset
 * (compose files blank them); an empty flag is an error.
 */
export function givenArg(values: ArgvValues, env: NodeJS.ProcessEnv, flag: string, envName?: string): GivenArg | undefined {
  const fromFlag = values[flag] as string | boolean | undefined;
  if (fromFlag === '') throw configError(`--${flag}`, 'must not be empty');
  if (fromFlag !== undefined) return { value: fromFlag, from: `--${flag}` };
  if (envName === undefined) return undefined;
  const fromEnv = env[envName];
  if (fromEnv === undefined || fromEnv === '') return undefined;
  return { value: fromEnv, from: envName };
}

/** Refuses a missing setting, naming both places it may come from. */
export function requireArg<T>(value: T | undefined, flag: string, envName?: string): T {
  if (value === undefined) throw configError(`--${flag}`, `is required${envName ? ` (or set ${envName})` : ''}`);
  return value;
}

export function stringArg(arg: GivenArg | undefined): string | undefined {
  return arg === undefined ? undefined : String(arg.value);
}

const bad = (arg: GivenArg, what: string) => configError(arg.from, `must be ${what}, got ${describe(arg.value)}`);

/** A decimal integer in [min, max]: no signs, exponents, fractions or spaces. */
function integerArg(arg: GivenArg, min: number, max: number, what: string): number {
  const text = String(arg.value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw bad(arg, what);
  return n;
}

export function nonNegativeIntArg(arg: GivenArg | undefined): number | undefined {
  return arg === undefined ? undefined : integerArg(arg, 0, Number.MAX_SAFE_INTEGER, 'a non-negative integer');
}

export function positiveIntArg(arg: GivenArg | undefined): number | undefined {
  return arg === undefined ? undefined : integerArg(arg, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
}

/** A TCP port; 0 asks the system for a free one. */
export function portArg(arg: GivenArg | undefined, fallback: number): number {
  return arg === undefined ? fallback : integerArg(arg, 0, 65535, 'a port, an integer in 0..65535');
}

export function booleanArg(arg: GivenArg | undefined, fallback: boolean): boolean {
  if (arg === undefined) return fallback;
  if (typeof arg.value === 'boolean') return arg.value;
  const text = arg.value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw bad(arg, 'true or false (1/0, yes/no, on/off)');
}

/** Where a role dials its peer: ws://host:port or wss://host:port. */
export function wsUrlArg(arg: GivenArg | undefined): string | undefined {
  if (arg === undefined) return undefined;
  const text = String(arg.value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(arg, 'a ws:// or wss:// URL');
  }
  if ((url.protocol !== 'ws:' && url.protocol !== 'wss:') || url.hostname === '') throw bad(arg, 'a ws:// or wss:// URL');
  return text;
}

/** The URL of the coordinator, which the other roles dial: --coordinator or ROWSHARD_COORDINATOR, required. */
export function coordinatorUrlArg(values: ArgvValues, env: NodeJS.ProcessEnv): string {
  const arg = givenArg(values, env, 'coordinator', 'ROWSHARD_COORDINATOR');
  return requireArg(wsUrlArg(arg), 'coordinator', 'ROWSHARD_COORDINATOR');
}

/** Loopback and any free port, as a launcher on one box wants; a cluster sets both. */
export const listenArgDefaults = Object.freeze({ host: '127.0.0.1', port: 0 });

/** Where a role that serves (ps, coordinator) listens: --host, --port (env: ROWSHARD_HOST, ROWSHARD_PORT). */
export function listenArgs(
  values: ArgvValues,
  env: NodeJS.ProcessEnv,
  defaults: { readonly host: string; readonly port: number } = listenArgDefaults,
): { host: string; port: number } {
  return {
    host: stringArg(givenArg(values, env, 'host', 'ROWSHARD_HOST')) ?? defaults.host,
    port: portArg(givenArg(values, env, 'port', 'ROWSHARD_PORT'), defaults.port),
  };
}
