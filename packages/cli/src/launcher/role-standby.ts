import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ARGS_ON_STDIN } from '@rowshard/transport/launch';
import { clusterShape, type RolePackage, spawnRoleProcess } from './role-process.js';

/** More processes of a role than this are not started ahead (a typo'd count is the job check's to report). */
const MOST_AHEAD = 16;

/**
 * Role processes started before their job is ready. Booting Node and loading a role's modules
 * takes a few hundred milliseconds per process; a launcher that starts the processes as soon
 * as it knows the cluster's shape (before its data pass: fastText's dictionary, a vocabulary)
 * has them loaded by the time the job is written, where starting them after the pass put
 * each boot on the job's critical path. Each process waits for its arguments on stdin
 * (roleArguments); startLocalCluster takes them in place of spawning. What it does not take,
 * close() lets go: their stdin ends and they exit. The processes get this standby's token
 * and environment, so the cluster that takes them must use the same token.
 */
export class RoleStandby {
  readonly token: string;
  /** Every process this standby started, taken or not, in the order started (coordinator, shards, trainers). */
  readonly children: ChildProcess[] = [];
  private readonly waiting = new Map<RolePackage, ChildProcess[]>();
  private started = false;

  constructor(private readonly env?: Record<string, string>) {
    this.token = randomBytes(24).toString('hex');
  }

  /**
   * Starts a coordinator and the shards and trainers `cluster` asks for (the job's `cluster`
   * section as far as it is known: sizes that are not small positive integers start none).
   * Only the first call starts anything.
   */
  readonly startFor = (cluster: Readonly<Record<string, unknown>> | undefined): void => {
    if (this.started) return;
    this.started = true;
    const count = (n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= MOST_AHEAD ? n : 0);
    // The processes startLocalCluster will ask for.
    const shape = clusterShape(cluster);
    this.spawn('coordinator', ['coordinator']);
    this.spawn(
      'ps',
      Array.from({ length: count(shape.ps) }, (_, i) => `ps ${i}`),
    );
    // A trainer told its thread count starts its threads while it waits (as one started with --workers does).
    const threads = count(shape.threads);
    this.spawn(
      'trainer',
      Array.from({ length: count(shape.trainers) }, (_, i) => `trainer ${i}`),
      threads > 0 ? { ROWSHARD_WORKERS: String(threads) } : {},
    );
  };

  /**
   * A waiting process of `pkg`, given `args` (it goes on as if started with them), or null when
   * none is left alive. The caller owns it from here on.
   */
  take(pkg: RolePackage, args: readonly string[]): ChildProcess | null {
    const queue = this.waiting.get(pkg) ?? [];
    for (let child = queue.shift(); child; child = queue.shift()) {
      if (child.exitCode !== null || child.signalCode !== null || !child.stdin?.writable) continue;
      holdsOpen(child, true);
      child.stdin.write(`${JSON.stringify(args)}\n`);
      return child;
    }
    return null;
  }

  /** Lets every process not taken go (its stdin ends; it exits 0). */
  close(): void {
    for (const queue of this.waiting.values()) for (const child of queue.splice(0)) child.stdin?.end();
  }

  private spawn(pkg: RolePackage, roles: readonly string[], env: Record<string, string> = {}): void {
    const queue = this.waiting.get(pkg) ?? [];
    this.waiting.set(pkg, queue);
    for (const role of roles) {
      const child = spawnRoleProcess(role, pkg, [ARGS_ON_STDIN], { token: this.token, env: { ...this.env, ...env } });
      // A process that fails to start, or dies waiting, is passed over by take (its replacement
      // is spawned the usual way, which reports the failure); a write to its closed stdin is no error.
      child.on('error', () => {});
      child.stdin?.on('error', () => {});
      // Until taken, a waiting process does not keep this one alive: a launcher that fails
      // without closing the standby still exits, and its end (stdin's) stops the process.
      holdsOpen(child, false);
      queue.push(child);
      this.children.push(child);
    }
  }
}

/** Whether `child` and its pipes keep this process's event loop alive (as a spawned child does). */
function holdsOpen(child: ChildProcess, hold: boolean): void {
  if (hold) child.ref();
  else child.unref();
  for (const pipe of [child.stdin, child.stdout, child.stderr] as unknown as ({ ref?(): void; unref?(): void } | null)[]) {
    if (hold) pipe?.ref?.();
    else pipe?.unref?.();
  }
}
