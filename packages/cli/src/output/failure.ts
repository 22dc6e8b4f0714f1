import { RowshardError } from '@rowshard/core';

/** How a failed command ends: the one line it prints on stderr, and its exit code. */
export interface Failure {
  readonly message: string;
  readonly exitCode: number;
}

const systemCode = (e: unknown): string | null => {
  const code = e && typeof e === 'object' && 'code' in e ? (e as { code: unknown }).code : null;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : null;
};

/**
 * The one error path of the command line. A RowshardError (bad flag, config, data, model
 * file, checkpoint) and a system error (a file that is missing or not a directory) are what
 * the user can fix: one line with the code, exit 2. Anything else is a bug in rowshard: one
 * line saying so, exit 1; `debug` (ROWSHARD_DEBUG=1) adds the stack.
 */
export function describeFailure(err: unknown, debug = false): Failure {
  if (systemCode(err) === 'EPIPE') return { message: '', exitCode: 0 };
  if (err instanceof RowshardError) return { message: `rowshard: ${err.code}: ${err.message}`, exitCode: 2 };
  const code = systemCode(err);
  if (code !== null && err instanceof Error) {
    const message = err.message.startsWith(code) ? err.message : `${code}: ${err.message}`;
    return { message: `rowshard: ${message}`, exitCode: 2 };
  }
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const stack = debug && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  return {
    message: `rowshard: internal error: ${text} (a bug in rowshard; ROWSHARD_DEBUG=1 shows where)${stack}`,
    exitCode: 1,
  };
}

/**
 * Failures outside a command's promise take the same path: an 'error' event nobody listens
 * to, a rejected promise nobody awaits. Output closed by its reader (`| head`) ends the
 * process quietly with exit 0: the reader has what it wanted.
 */
export function handleStrayFailures(): void {
  const end = (err: unknown) => {
    const failure = describeFailure(err, process.env.ROWSHARD_DEBUG === '1');
    if (failure.message) process.stderr.write(`${failure.message}\n`);
    process.exit(failure.exitCode);
  };
  process.stdout.on('error', end);
  process.stderr.on('error', (err) => {
    if (systemCode(err) === 'EPIPE') process.exit(0);
  });
  process.on('uncaughtException', end);
  process.on('unhandledRejection', end);
}
