import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * A bench's flags (node:util parseArgs, strict). `--help` prints `usage`; a mistake (an unknown
 * flag, a flag without its value, a count that is not a positive integer) says what it was and
 * prints `usage`, exit 2, instead of a stack trace or a run on NaN.
 */
export function benchArgs<T extends ParseArgsConfig>(
  usage: string,
  config: T,
  positiveIntegers: readonly string[] = [],
): ReturnType<typeof parseArgs<T>> {
  const argv = config.args ?? process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const refuse = (why: string): never => {
    process.stderr.write(`${why}\nusage: ${usage}\n`);
    process.exit(2);
  };
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    return refuse((e as Error).message);
  }
  const values = parsed.values as Record<string, unknown>;
  for (const name of positiveIntegers) {
    const value = values[name];
    if (typeof value === 'string' && !/^[1-9]\d*$/.test(value)) refuse(`--${name} must be a positive integer, got '${value}'`);
  }
  return parsed;
}
