import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** How far a thread's priority came down: Linux's SCHED_IDLE, the lowest nice value, or not at all. */
export type IdlePriority = 'sched_idle' | 'nice' | 'unchanged';

/**
 * Lowers the calling thread (not its process) to the lowest priority it can have: background
 * work beside a job's processes. On Linux a nice value and a scheduling policy belong to a
 * thread, so only this one is lowered; elsewhere it is left as it is.
 *
 * Nice 19 alone still took CPU from the job: a nice-19 thread counts as busy, so the
 * scheduler places a waking shard or worker beside it and shares the core. Under SCHED_IDLE the
 * core counts as idle and the waking thread takes it at once. A 2-core `supervised` run on the
 * fortunes corpus, from the cluster line to the last step, in three alternations of 6–8 rounds:
 * 0.99 against 1.08 s at nice 19, 1.16 against 1.23 s, 1.00 against 1.04 s (medians; 0.81 s
 * with no draft thread at all, where the model file is then written after training). Node has
 * no call for the policy, so util-linux's `chrt` sets it for this thread's id (5 ms); without
 * `chrt`, or where it is refused, the thread stays at nice 19.
 */
export function lowerToIdlePriority(): IdlePriority {
  if (process.platform !== 'linux') return 'unchanged';
  let lowered: IdlePriority = 'unchanged';
  try {
    setPriority(19);
    lowered = 'nice';
  } catch {
    // Not permitted here: try the policy all the same.
  }
  let threadId: string | undefined;
  try {
    // "<pid>/task/<tid>": the calling thread's own directory.
    threadId = readlinkSync('/proc/thread-self').split('/').pop();
  } catch {
    return lowered;
  }
  if (!threadId || !/^\d+$/.test(threadId)) return lowered;
  const chrt = spawnSync('chrt', ['--idle', '--pid', '0', threadId], { stdio: 'ignore', timeout: 2000 });
  return chrt.status === 0 ? 'sched_idle' : lowered;
}
