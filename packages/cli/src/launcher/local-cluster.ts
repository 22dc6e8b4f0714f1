import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { JobResult } from '@rowshard/coordinator';
import { ErrorCodes, RowshardError } from '@rowshard/core';
import { RpcClient } from '@rowshard/transport';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const entry = (pkg: string) => join(packagesDir, pkg, 'dist/main.js');

export interface LocalClusterOptions {
  /** The job (JSON); relative paths resolve against `jobDir`. */
  readonly job: Record<string, unknown>;
  readonly jobDir?: string;
  readonly ps?: number;
  readonly trainers?: number;
  readonly workersPerTrainer?: number;
  /** Cluster token; a random one by default (only these processes know it). */
  readonly token?: string;
  /** Every JSON event line any process prints, tagged with its role. */
  readonly onEvent?: (role: string, event: Record<string, unknown>) => void;
  /** Lines a process wrote on stderr. */
  readonly onLog?: (role: string, line: string) => void;
  readonly nodeArgs?: readonly string[];
}

export interface ManagedProcess {
  readonly role: string;
  readonly child: ChildProcess;
  readonly ready: Record<string, unknown>;
}

export interface LocalCluster {
  readonly coordinatorUrl: string;
  readonly token: string;
  readonly ps: ManagedProcess[];
  readonly trainers: ManagedProcess[];
  readonly coordinator: ManagedProcess;
  /** The shard URLs, in shard order. */
  psUrls(): string[];
  /** Resolves with the coordinator's JobResult when every worker is done. */
  result(): Promise<JobResult>;
  /** SIGTERM to every process (SIGKILL after a grace period); removes temporary files. */
  stop(): Promise<void>;
}

/**
 * The one-box deployment: a coordinator, `ps` parameter-server processes and `trainers`
 * trainer processes (each with `workersPerTrainer` worker threads), all real processes on
 * loopback, wired together by the coordinator. Everything is torn down by stop(), and a
 * process that dies early fails result() with its stderr, instead of hanging it.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rowshard-job-'));
  const token = options.token ?? randomBytes(24).toString('hex');
  const cluster = {
    ...((options.job.cluster as Record<string, unknown> | undefined) ?? {}),
    ...(options.ps ? { ps: options.ps } : {}),
    ...(options.trainers ? { trainers: options.trainers } : {}),
    ...(options.workersPerTrainer ? { workersPerTrainer: options.workersPerTrainer } : {}),
  };
  const job = { ...options.job, cluster };
  const jobFile = join(options.jobDir ?? dir, `.rowshard-job-${process.pid}-${Date.now()}.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  const children: ManagedProcess[] = [];
  let failure: ((e: Error) => void) | null = null;
  const failed = new Promise<never>((_, reject) => {
    failure = reject;
  });
  failed.catch(() => {});
  let stopping = false;

  const launch = (role: string, pkg: string, args: string[]): Promise<ManagedProcess> => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry(pkg), ...args], {
      env: { ...process.env, ROWSHARD_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr = `${stderr}${line}\n`.slice(-4000);
      options.onLog?.(role, line);
    });
    return new Promise((resolve, reject) => {
      let ready: ManagedProcess | null = null;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(line);
        } catch {
          options.onLog?.(role, line);
          return;
        }
        options.onEvent?.(role, event);
        if (!ready && event.event === 'listening') {
          ready = { role, child, ready: event };
          children.push(ready);
          resolve(ready);
        }
      });
      child.once('exit', (code, signal) => {
        const clean = code === 0 && role.startsWith('trainer');
        if (stopping || clean) return;
        const err = new RowshardError(
          ErrorCodes.INTERNAL,
          `${role} exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
        );
        if (!ready) reject(err);
        failure?.(err);
      });
    });
  };

  try {
    const coordinator = await launch('coordinator', 'coordinator', ['--job', jobFile]);
    const url = String(coordinator.ready.url);
    const nPs = Number(cluster.ps ?? 2);
    const nTrainers = Number(cluster.trainers ?? 1);
    const [ps, trainers] = await Promise.all([
      Promise.all(Array.from({ length: nPs }, (_, i) => launch(`ps ${i}`, 'ps', ['--coordinator', url]))),
      Promise.all(Array.from({ length: nTrainers }, (_, i) => launch(`trainer ${i}`, 'trainer', ['--coordinator', url]))),
    ]);
    const control = new RpcClient({ url, token, peerName: 'coordinator' });
    await control.connect();
    return {
      coordinatorUrl: url,
      token,
      ps,
      trainers,
      coordinator,
      psUrls: () => [...ps].sort((a, b) => Number(a.ready.shard) - Number(b.ready.shard)).map((p) => String(p.ready.url)),
      async result() {
        const reply = await Promise.race([control.request({ type: 'result' }, 24 * 3600_000), failed]);
        return reply.result as JobResult;
      },
      async stop() {
        stopping = true;
        await control.close();
        await Promise.all(children.map((c) => terminate(c.child)));
        rmSync(dir, { recursive: true, force: true });
        rmSync(jobFile, { force: true });
      },
    };
  } catch (e) {
    stopping = true;
    await Promise.all(children.map((c) => terminate(c.child)));
    rmSync(dir, { recursive: true, force: true });
    rmSync(jobFile, { force: true });
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
