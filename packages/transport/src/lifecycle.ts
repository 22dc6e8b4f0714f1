/**
 * Role processes started by a launcher (rowshard train) must not outlive it, even when it is
 * killed with SIGKILL and cannot clean up. The launcher gives each child a stdin pipe and
 * sets ROWSHARD_EXIT_WITH_PARENT=1; when the pipe closes (the launcher is gone), the child
 * runs its shutdown and exits.
 */
export function exitWithParent(shutdown: () => Promise<void> | void): void {
  if (process.env.ROWSHARD_EXIT_WITH_PARENT !== '1') return;
  const stdin = process.stdin;
  stdin.resume();
  stdin.on('end', () => {
    Promise.resolve(shutdown()).finally(() => process.exit(0));
  });
  stdin.on('error', () => process.exit(0));
}
