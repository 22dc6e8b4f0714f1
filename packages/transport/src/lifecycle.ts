/**
 * Role processes started by a launcher (rowshard train) must not outlive it, even when it is
 * killed with SIGKILL and cannot clean up. The launcher gives each child a stdin pipe and
 * sets ROWSHARD_EXIT_WITH_PARENT=1; when the pipe closes (the launcher is gone), the child
 * runs its shutdown and exits.
 */
export function exitWithParent(shutdown: () => Promise<void> | void): void {
  if (process.env.ROWSHARD_EXIT_WITH_PARENT !== '1') return;
  const stdin = process.stdin;
  // Referenced, as a pipe being read is: roleArguments leaves the stdin it read unreferenced.
  (stdin as { ref?: () => void }).ref?.();
  stdin.resume();
  stdin.on('end', () => {
    Promise.resolve(shutdown()).finally(() => process.exit(0));
  });
  stdin.on('error', () => process.exit(0));
}

/** ROWSHARD_CRASH_AT as crashWanted reads it, once it has; false where it is not set. */
let crashAt: { point: string; step: number | null } | false | undefined;

function parseCrashAt(want: string | undefined): { point: string; step: number | null } | false {
  if (!want) return false;
  const [point, at] = want.split(':');
  return { point, step: at === undefined ? null : Number(at) };
}

/**
 * Fault injection for tests: ROWSHARD_CRASH_AT=<point>[:<step>] makes a role kill itself
 * (SIGKILL) at that point, at every step or only at <step>. The points:
 * - `before-manifest-rename`, `after-manifest-rename`: the coordinator writing a checkpoint;
 * - `after-push`: a worker whose push of the step was applied, before its dense step is sent;
 * - `before-push`: a worker whose dense step of the step was answered, before its push is
 *   sent (the push is lost with its trainer);
 * (the worker loop checks these two only where the worker started before that step, so a
 * replacement does not crash in turn).
 */
export function crashWanted(point: string, step: number): boolean {
  // Read once per process: the worker loop asks at every step.
  crashAt ??= parseCrashAt(process.env.ROWSHARD_CRASH_AT);
  return crashAt !== false && crashAt.point === point && (crashAt.step === null || crashAt.step === step);
}

/** Kills this process (SIGKILL) where ROWSHARD_CRASH_AT asks for it (crashWanted). */
export function crashPoint(point: string, step: number): void {
  if (crashWanted(point, step)) process.kill(process.pid, 'SIGKILL');
}

/** The flag a launcher starts a role with when its arguments will follow on stdin (roleArguments). */
export const ARGS_ON_STDIN = '--args-on-stdin';

/**
 * A role's command-line arguments. A launcher may start a role before it knows them
 * (`--args-on-stdin`), so that the process boots and loads its modules while the launcher
 * still reads the data: the arguments are then the first line of stdin, a JSON array of
 * strings. stdin stays open after it, as the launcher's lifeline (exitWithParent). If stdin
 * ends first, the launcher did not need this process, and it exits quietly.
 */
export async function roleArguments(argv: readonly string[] = process.argv.slice(2)): Promise<string[]> {
  if (!startedAhead(argv)) return [...argv];
  const line = await firstLineOfStdin();
  if (line === null) process.exit(0);
  let args: unknown;
  try {
    args = JSON.parse(line);
  } catch {
    throw new Error(`${ARGS_ON_STDIN}: stdin's first line is not JSON: ${line.slice(0, 80)}`);
  }
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    throw new Error(`${ARGS_ON_STDIN}: stdin's first line must be a JSON array of strings, got ${line.slice(0, 80)}`);
  return args;
}

/** Whether a role was started ahead of its arguments (`--args-on-stdin`, alone). */
export function startedAhead(argv: readonly string[] = process.argv.slice(2)): boolean {
  return argv.length === 1 && argv[0] === ARGS_ON_STDIN;
}

/** stdin up to its first newline (the stream is left paused and unreferenced after it), or null if it ends before one. */
function firstLineOfStdin(): Promise<string | null> {
  const stdin = process.stdin;
  return new Promise((resolve) => {
    // Bytes until the newline, decoded once (a character may be split between chunks).
    const chunks: Buffer[] = [];
    const done = (line: string | null) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      // As if stdin had not been read: it holds the process open no more than an untouched one
      // (exitWithParent, if the role calls it, references it again and listens for its end).
      stdin.pause();
      (stdin as { unref?: () => void }).unref?.();
      resolve(line);
    };
    const onData = (chunk: Buffer) => {
      const newline = chunk.indexOf(0x0a);
      chunks.push(newline < 0 ? chunk : chunk.subarray(0, newline));
      if (newline >= 0) done(Buffer.concat(chunks).toString('utf8'));
    };
    const onEnd = () => done(null);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onEnd);
  });
}
