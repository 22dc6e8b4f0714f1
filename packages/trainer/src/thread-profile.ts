import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { ErrorCodes, RowshardError } from '@rowshard/core';

/**
 * A CPU profile of this worker thread, for benchmarks: `node --cpu-prof` profiles a process's
 * main thread only, and a trainer's work happens in its worker threads. With
 * ROWSHARD_CPU_PROF_DIR set, each worker writes `worker-<rank>.cpuprofile` there when its
 * training ends (open it in Chrome DevTools). Returns the function that stops and writes it
 * (a no-op without the variable, and after its first call): the loop calls it before telling
 * the coordinator it is done, because the job's end may stop this process at once.
 *
 * The directory is made here, before training: the role processes' own profiles (`node
 * --cpu-prof-dir`) make it only when they exit, after the workers have written theirs. A
 * profile that cannot be written at the end is reported on stderr and the job goes on: it
 * must not fail the training it measured.
 */
export async function startThreadProfile(rank: number): Promise<() => Promise<void>> {
  const dir = process.env.ROWSHARD_CPU_PROF_DIR;
  if (!dir) return async () => {};
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `ROWSHARD_CPU_PROF_DIR: cannot make the profile directory ${dir}: ${(e as Error).message}`,
      { field: 'ROWSHARD_CPU_PROF_DIR' },
    );
  }
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    const file = join(dir, `worker-${rank}.cpuprofile`);
    try {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
    } catch (e) {
      process.stderr.write(`rowshard worker ${rank}: CPU profile not written to ${file}: ${(e as Error).message}\n`);
    } finally {
      session.disconnect();
    }
  };
}
