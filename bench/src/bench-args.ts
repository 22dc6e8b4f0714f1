import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * A bench's flags (node:util parseArgs, strict), with its usage line made from them:
 * `pnpm bench:<name>` and each flag with its default. `--help` prints the usage; a mistake (an
 * unknown flag, a flag without its value, a count that is not a positive integer: any flag whose
 * default is one) says what it was and prints the usage, exit 2, instead of a stack trace or a
 * run on NaN.
 */
export function benchArgs<T extends ParseArgsConfig>(name: string, config: T): ReturnType<typeof parseArgs<T>> {
  const options = Object.entries(config.options ?? {});
  const usage = `pnpm bench:${name} ${options
    .map(([flag, o]) => (o.type === 'boolean' ? `[--${flag}]` : `[--${flag} ${o.default || 'V'}]`))
    .join(' ')}`;
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
  for (const [flag, o] of options) {
    const value = values[flag];
    const isCount = typeof o.default === 'string' && /^[1-9]\d*$/.test(o.default);
    if (isCount && typeof value === 'string' && !/^[1-9]\d*$/.test(value))
      refuse(`--${flag} must be a positive integer, got '${value}'`);
  }
  return parsed;
}
