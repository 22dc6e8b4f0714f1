import { readFileSync } from 'node:fs';

/**
 * CPU time of a process, all its threads, from /proc/<pid>/stat (utime + stime, in clock
 * ticks of 10 ms on Linux). Busy machines make throughput swing; CPU time spent per example
 * is what stays put, so the benchmarks compare that.
 */
const TICK_MS = 10;

export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are space-separated.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) * TICK_MS;
}
