import { readFileSync } from 'node:fs';

/**
 * CPU time of a process, all its threads, from /proc/<pid>/stat (utime + stime, in clock
 * ticks of 10 ms on Linux). Busy machines make throughput swing; CPU time spent per example
 * is what stays put, so the benchmarks compare that.
 */
const TICK_MS = 10;

export function processCpuMs(pid: number): number {
  const rest = statFields(pid);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) * TICK_MS;
}

/**
 * CPU time of this process's children that have ended and been waited for, and of theirs
 * (cutime + cstime): around a synchronous run of a command, the command's whole process tree
 * (rowshard's CLI waits for its roles, so their time is in it).
 */
export function endedChildrenCpuMs(): number {
  const rest = statFields('self');
  return (Number(rest[13]) + Number(rest[14])) * TICK_MS;
}

/** /proc/<pid>/stat's fields after the command name (field 3 onwards). */
function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are space-separated.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
