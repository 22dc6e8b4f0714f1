import { setPriority } from 'node:os';

/**
 * Lowers the calling thread (not its process) to nice 19: background work beside a job's
 * processes, such as the model draft's thread. On Linux a nice value belongs to a thread, so
 * only this one is lowered. Elsewhere it would lower the whole process, so it is left as it is.
 * Returns whether the thread was lowered.
 *
 * Not SCHED_IDLE, measured. Under SCHED_IDLE (set through util-linux's `chrt` on the thread's
 * id) a 2-core `supervised` run's steps took 0.99 against 1.08 s on an idle machine. Beside
 * two busy loops, though, the draft's thread got next to no CPU, and `ModelDraft.finish`
 * waits for the block it is writing: the whole run took 7.98 s (median of 8, up to 15.2 s)
 * against 5.10 s at nice 19.
 */
export function lowerToBackgroundPriority(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    setPriority(19);
    return true;
  } catch {
    // Not permitted here: the work runs at normal priority.
    return false;
  }
}
