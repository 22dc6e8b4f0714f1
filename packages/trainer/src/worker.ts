import { RowshardError } from '@rowshard/core';
import { startThreadProfile } from './thread-profile.js';
import { WorkerLoop, type WorkerSummary, type WorkerTask } from './worker-loop.js';

/** A worker's end: its summary, or its error as plain data (a thread boundary drops an error's class and code). */
export type WorkerOutcome =
  | { readonly summary: WorkerSummary }
  | { readonly error: ReturnType<RowshardError['toJSON']> & { readonly syscall?: string } };

/**
 * The piscina worker entry: one task is one worker's whole training loop. The worker thread
 * owns its WebSockets, so the pool runs with atomics 'disabled' (a parked thread would stall
 * its sockets; docs/ARCHITECTURE.md, "Threads"). Nothing crosses back but the outcome.
 */
export default async function runWorkerTask(task: WorkerTask): Promise<WorkerOutcome> {
  try {
    const loop = await WorkerLoop.create(task);
    const stopProfile = await startThreadProfile(task.rank);
    try {
      return { summary: await loop.run(stopProfile) };
    } finally {
      await stopProfile();
    }
  } catch (e) {
    if (e instanceof RowshardError) return { error: e.toJSON() };
    const err = e instanceof Error ? e : new Error(String(e));
    const code = (err as { code?: unknown }).code;
    return {
      error: {
        code: 'E_INTERNAL',
        message: `${err.name}: ${err.message}`,
        details: {},
        ...(typeof code === 'string' ? { syscall: code } : {}),
      },
    };
  }
}
