import { profiled } from './thread-profile.js';
import { WorkerLoop, type WorkerSummary, type WorkerTask } from './worker-loop.js';

/**
 * The piscina worker entry: one task is one worker's whole training loop. The worker thread
 * owns its WebSockets, so the pool runs with atomics 'disabled' (a parked thread would stall
 * its sockets; docs/ARCHITECTURE.md, "Threads"). Nothing crosses back but the summary.
 */
export default async function runWorkerTask(task: WorkerTask): Promise<WorkerSummary> {
  const loop = await WorkerLoop.create(task);
  return profiled(task.rank, () => loop.run());
}
