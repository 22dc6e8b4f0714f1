import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * A CPU profile of this worker thread, for benchmarks: `node --cpu-prof` profiles a process's
 * main thread only, and a trainer's work happens in its worker threads. With
 * ROWSHARD_CPU_PROF_DIR set, each worker writes `worker-<rank>.cpuprofile` there when its
 * task ends (open it in Chrome DevTools, or summarise it with bench/profile-summary).
 */
export async function profiled<T>(rank: number, run: () => Promise<T>): Promise<T> {
  const dir = process.env.ROWSHARD_CPU_PROF_DIR;
  if (!dir) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `worker-${rank}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
