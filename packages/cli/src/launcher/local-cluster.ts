import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { JobResult } from '@rowshard/coordinator';
import { coordinatorProtocol, ErrorCodes, EXIT_NOT_RETRYABLE, isErrorCode, type Role, RowshardError } from '@rowshard/core';
import { roleCredential } from '@rowshard/transport/launch';
import { clusterShape, type RolePackage, spawnRoleProcess } from './role-process.js';
import type { RoleStandby } from './role-standby.js';

export interface LocalClusterOptions {
  /** The job (JSON); relative paths resolve against `jobDir`. */
  readonly job: Record<string, unknown>;
  readonly jobDir?: string;
  readonly ps?: number;
  readonly trainers?: number;
  readonly workersPerTrainer?: number;
  /**
   * Cluster token; a random one by default. Only the coordinator and the parameter servers
   * get it; trainers get their role credential only.
   */
  readonly token?: string;
  /** Restart a process that dies (PS, trainer, coordinator) instead of failing the job. Default true. */
  readonly restart?: boolean;
  /** Every JSON event line any process prints, tagged with its role. */
  readonly onEvent?: (role: string, event: Record<string, unknown>) => void;
  /** Lines a process wrote on stderr (and non-JSON stdout lines). */
  readonly onLog?: (role: string, line: string) => void;
  readonly nodeArgs?: readonly string[];
  /** Extra environment for every process (fault injection in tests). */
  readonly env?: Record<string, string>;
  /** Serve the dashboard on the coordinator's port. */
  readonly dashboard?: boolean;
  /**
   * Processes started ahead (RoleStandby), taken in place of spawning where one of the role
   * is waiting. They were started with the standby's token and environment: the cluster's
   * token is then the standby's, whatever `token` says, and `env` and `nodeArgs` apply only
   * to the processes spawned here (the missing ones, and every restart).
   */
  readonly standby?: RoleStandby;
}

export interface ManagedProcess {
  readonly role: string;
  child: ChildProcess;
  ready: Record<string, unknown>;
  restarts: number;
}

export interface LocalCluster {
  readonly coordinatorUrl: string;
  readonly token: string;
  /** The credential of `role` in this cluster (a trainer's, to pull rows as a worker does). */
  credential(role: Role): string;
  readonly ps: ManagedProcess[];
  readonly trainers: ManagedProcess[];
  readonly coordinator: ManagedProcess;
  /** The shard URLs, in shard order (as registered now). */
  psUrls(): string[];
  /** Resolves with the coordinator's JobResult when every worker is done. */
  result(): Promise<JobResult>;
  /** SIGTERM to every process (SIGKILL after a grace period); removes temporary files. */
  stop(): Promise<void>;
}

/**
 * The one-box deployment: a coordinator, `ps` parameter-server processes and `trainers`
 * trainer processes (each with `workersPerTrainer` worker threads), all real processes on
 * loopback, wired together by the coordinator. A process that dies is restarted in its old
 * role (a PS keeps its shard id, the coordinator its port) and the coordinator's recovery
 * takes over; with `restart: false` a death fails result() with the process's stderr. A
 * process that exits with EXIT_NOT_RETRYABLE (a model's bug, bad data) is not restarted: the
 * job fails at once with its error.
 * Everything is torn down by stop().
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  // The wire (ws, msgpack: 50-60 ms to load) is needed only for the result's connection, once
  // the processes are up: loaded meanwhile, not before a command's data pass.
  const wire = import('@rowshard/transport');
  wire.catch(() => {});
  const dir = mkdtempSync(join(tmpdir(), 'rowshard-job-'));
  const token = options.standby?.token ?? options.token ?? randomBytes(24).toString('hex');
  const restart = options.restart ?? true;
  const cluster = {
    ...((options.job.cluster as Record<string, unknown> | undefined) ?? {}),
    ...(options.ps ? { ps: options.ps } : {}),
    ...(options.trainers ? { trainers: options.trainers } : {}),
    ...(options.workersPerTrainer ? { workersPerTrainer: options.workersPerTrainer } : {}),
  };
  const job = { ...options.job, cluster };
  const jobFile = join(options.jobDir ?? dir, `.rowshard-job-${process.pid}-${Date.now()}.json`);
  // The shards may read and write checkpoints only where the coordinator keeps them (resolved
  // as the coordinator resolves the job's paths: against the job file's directory).
  const checkpointDir = (job as { checkpoint?: { dir?: unknown } }).checkpoint?.dir;
  const psRoot = typeof checkpointDir === 'string' ? ['--checkpoint-root', resolve(dirname(jobFile), checkpointDir)] : [];
  writeFileSync(jobFile, JSON.stringify(job));
  // A restarted coordinator continues this run: from its newest checkpoint, whatever the job
  // asked for at the start (none, or a named one, would go back to where the run began).
  const restartJobFile = `${jobFile.slice(0, -'.json'.length)}-restart.json`;
  const checkpointSection = (job as { checkpoint?: Record<string, unknown> }).checkpoint;
  writeFileSync(
    restartJobFile,
    JSON.stringify(checkpointSection ? { ...job, checkpoint: { ...checkpointSection, resume: 'latest' } } : job),
  );
  const managed: ManagedProcess[] = [];
  let failure: ((e: Error) => void) | null = null;
  const failed = new Promise<never>((_, reject) => {
    failure = reject;
  });
  failed.catch(() => {});
  let stopping = false;

  /**
   * Spawns `pkg` (or takes its process from the standby, on a first start) and resolves on
   * its `listening` line; `onDeath` decides what a death means.
   */
  const spawnRole = (
    role: string,
    pkg: RolePackage,
    args: string[],
    onDeath: (stderr: string, code: number | null) => void,
    fromStandby = false,
  ): Promise<ManagedProcess> => {
    const taken = fromStandby ? (options.standby?.take(pkg, args) ?? null) : null;
    const child: ChildProcess =
      taken ?? spawnRoleProcess(role, pkg, args, { token, env: options.env, nodeArgs: options.nodeArgs });
    let stderr = '';
    let fatal: RowshardError | null = null;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr = `${stderr}${line}\n`.slice(-4000);
      options.onLog?.(role, line);
    });
    return new Promise((resolve, reject) => {
      let ready = false;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(line);
        } catch {
          options.onLog?.(role, line);
          return;
        }
        options.onEvent?.(role, event);
        if (event.event === 'fatal') {
          const code = isErrorCode(event.code) ? event.code : ErrorCodes.INTERNAL;
          fatal = new RowshardError(code, `${role}: ${String(event.message)} (not retried: it would fail the same way again)`);
        }
        if (!ready && event.event === 'listening') {
          ready = true;
          resolve({ role, child, ready: event, restarts: 0 });
        }
      });
      child.once('exit', (code, signal) => {
        if (stopping) return;
        if (taken && !ready && !fatal && code !== EXIT_NOT_RETRYABLE) {
          // Started ahead, it died before it could start (killed while it waited, before this
          // process noticed): one started now takes its place, and reports what it meets.
          spawnRole(role, pkg, args, onDeath).then(resolve, reject);
          return;
        }
        if (code === 0 && role.startsWith('trainer')) return; // finished its work
        const why = `${role} exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`;
        const error = fatal ?? new RowshardError(ErrorCodes.INTERNAL, code === EXIT_NOT_RETRYABLE ? `${why} (not retried)` : why);
        if (!ready) reject(error);
        else if (code === EXIT_NOT_RETRYABLE) failure?.(error);
        else onDeath(why, code);
      });
    });
  };

  /** Keeps a role alive: on death, respawn it with `restartArgs()` (or fail the job). */
  const supervise = async (
    role: string,
    pkg: RolePackage,
    args: string[],
    restartArgs: (p: ManagedProcess) => string[],
  ): Promise<ManagedProcess> => {
    const onDeath = (why: string) => {
      if (!restart || p.restarts >= 5) {
        failure?.(new RowshardError(ErrorCodes.INTERNAL, why));
        return;
      }
      p.restarts++;
      options.onEvent?.(role, { event: 'restarting', reason: why, restarts: p.restarts });
      spawnRole(role, pkg, restartArgs(p), onDeath).then(
        (q) => {
          p.child = q.child;
          p.ready = q.ready;
        },
        (e: Error) => failure?.(e),
      );
    };
    const p = await spawnRole(role, pkg, args, onDeath, true);
    managed.push(p);
    return p;
  };

  try {
    const dash = options.dashboard ? ['--dashboard'] : [];
    const coordinator = await supervise('coordinator', 'coordinator', ['--job', jobFile, ...dash], (p) => [
      '--job',
      restartJobFile,
      '--port',
      String(new URL(String(p.ready.url)).port),
      ...dash,
    ]);
    const url = String(coordinator.ready.url);
    const shape = clusterShape(cluster);
    const nPs = Number(shape.ps);
    const nTrainers = Number(shape.trainers);
    // A trainer told its thread count starts its threads before it registers.
    // (A malformed count is left to the coordinator's check of the job, which names the field.)
    const trainerThreads = shape.threads !== null ? ['--workers', String(shape.threads)] : [];
    const [ps, trainers] = await Promise.all([
      Promise.all(
        Array.from({ length: nPs }, (_, i) =>
          supervise(`ps ${i}`, 'ps', ['--coordinator', url, ...psRoot], (p) => [
            '--coordinator',
            url,
            ...psRoot,
            '--shard',
            String(p.ready.shard),
          ]),
        ),
      ),
      Promise.all(
        Array.from({ length: nTrainers }, (_, i) =>
          supervise(`trainer ${i}`, 'trainer', ['--coordinator', url, ...trainerThreads], () => [
            '--coordinator',
            url,
            ...trainerThreads,
          ]),
        ),
      ),
    ]);
    // The launcher asks for the job's result, which only the coordinator credential may.
    const { RpcClient } = await wire;
    const control = new RpcClient({
      url,
      token: roleCredential(token, 'coordinator'),
      protocol: coordinatorProtocol,
      peerName: 'coordinator',
      transport: { reconnectMaxDelayMs: 500 },
    });
    await control.connect();
    return {
      coordinatorUrl: url,
      token,
      credential: (role) => roleCredential(token, role),
      ps,
      trainers,
      coordinator,
      psUrls: () => [...ps].sort((a, b) => Number(a.ready.shard) - Number(b.ready.shard)).map((p) => String(p.ready.url)),
      async result() {
        // The coordinator may be restarted under us: ask again until it answers.
        for (;;) {
          try {
            const reply = await Promise.race([control.request('result', {}, 24 * 3600_000), failed]);
            return reply.result;
          } catch (e) {
            if (stopping || !(e instanceof RowshardError) || e.code !== ErrorCodes.CONNECTION_CLOSED) throw e;
          }
        }
      },
      async stop() {
        stopping = true;
        await control.close();
        await Promise.all(managed.map((c) => terminate(c.child)));
        rmSync(dir, { recursive: true, force: true });
        rmSync(jobFile, { force: true });
        rmSync(restartJobFile, { force: true });
      },
    };
  } catch (e) {
    stopping = true;
    await Promise.all(managed.map((c) => terminate(c.child)));
    rmSync(dir, { recursive: true, force: true });
    rmSync(jobFile, { force: true });
    rmSync(restartJobFile, { force: true });
    throw e;
  }
}

function terminate(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
