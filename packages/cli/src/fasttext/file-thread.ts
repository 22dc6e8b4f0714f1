import { parentPort, Worker } from 'node:worker_threads';

/**
 * A file written on a worker thread while this one goes on (a model's .bin draft, its .vec).
 * The thread's module calls reportFileThread around its work; runFileThread settles when the
 * thread has exited: resolved, or rejected with the thread's error as the same write would
 * have thrown it on this thread (message, and a system error's code: ENOSPC, EACCES, which
 * the command line reports as the user's to fix).
 */
export function runFileThread(module: URL, workerData: unknown, transferList: ArrayBuffer[] = []): Promise<void> {
  const worker = new Worker(module, { workerData, transferList });
  return new Promise((resolve, reject) => {
    let failed: Error | null = null;
    worker.once('message', (m: { error?: string; code?: string }) => {
      if (m.error !== undefined) failed = Object.assign(new Error(m.error), m.code === undefined ? {} : { code: m.code });
    });
    worker.once('error', (e) => {
      failed = e;
    });
    worker.once('exit', (code) => {
      if (failed) reject(failed);
      else if (code !== 0) reject(new Error(`${module.pathname}: the thread exited with code ${code}`));
      else resolve();
    });
  });
}

/** In the thread: runs `work`, then reports `{}` or `{ error, code }` to the thread that started it. */
export function reportFileThread(work: () => void): void {
  try {
    work();
    parentPort?.postMessage({});
  } catch (e) {
    const { message, code } = e instanceof Error ? (e as NodeJS.ErrnoException) : { message: String(e), code: undefined };
    parentPort?.postMessage({ error: message, ...(typeof code === 'string' ? { code } : {}) });
  }
}
