import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * A CPU profile of this worker thread, for benchmarks: `node --cpu-prof` profiles a process's
 * main thread only, and a trainer's work happens in its worker threads. With
 * ROWSHARD_CPU_PROF_DIR set, each worker writes `worker-<rank>.cpuprofile` there when its
 * training ends (open it in Chrome DevTools). Returns the function that stops and writes it
 * (a no-op without the variable, and after its first call): the loop calls it before telling
 * the coordinator it is done, because the job's end may stop this process at once.
 */
export async function startThreadProfile(rank: number): Promise<() => Promise<void>> {
  const dir = process.env.ROWSHARD_CPU_PROF_DIR;
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `worker-${rank}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
