import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './fixtures.js';

export interface SpawnedProcess {
  readonly child: ChildProcess;
  /** The parsed JSON ready line the process printed. */
  readonly ready: Record<string, unknown>;
  /** Everything it wrote on stderr so far (for failure messages). */
  stderr(): string;
}

/** This process's environment with `env` over it; a variable set to undefined is removed. */
export function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete out[k];
  return out;
}

/**
 * Spawns a built entry point (`node <repo>/<script> ...args`) and resolves once it prints a
 * JSON line whose `event` is `listening`; rejects if it exits first or after timeoutMs.
 * `env` goes over this process's environment (undefined removes a variable).
 */
export function spawnReady(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 20_000,
  nodeArgs: string[] = [],
): Promise<SpawnedProcess> {
  const child = spawn(process.execPath, [...nodeArgs, join(repoRoot, script), ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not become ready in ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready: ${err}`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.event === 'listening') {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, ready: msg, stderr: () => err });
      }
    });
  });
}

export async function stopProcess(p: SpawnedProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.child.once('exit', () => resolve());
    p.child.kill(signal);
  });
}

export interface PsCluster {
  readonly urls: string[];
  readonly processes: SpawnedProcess[];
  stop(): Promise<void>;
}

/**
 * Starts `numShards` real PS processes on loopback with the given tables (PS config format),
 * with `token` as their cluster token (null: none, and a warning on their stderr). Clients
 * present role credentials derived from it (roleCredential).
 */
export async function startPsProcesses(options: {
  numShards: number;
  seed?: number;
  tables: unknown[];
  token: string | null;
  maxPayloadBytes?: number;
  /** The shards' per-request limits (PsConfig.limits); the default when left out. */
  limits?: { maxRows: number; maxBytes: number };
  /** The directory the shards may read and write checkpoints under (--checkpoint-root). */
  checkpointRoot?: string;
  /** Extra node flags (e.g. --expose-gc for memory measurements). */
  nodeArgs?: string[];
}): Promise<PsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rowshard-ps-'));
  const processes = await Promise.all(
    Array.from({ length: options.numShards }, (_, shard) => {
      const file = join(dir, `ps-${shard}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          shard,
          numShards: options.numShards,
          seed: options.seed ?? 0,
          tables: options.tables,
          ...(options.limits ? { limits: options.limits } : {}),
        }),
      );
      const args = ['--config', file];
      if (options.maxPayloadBytes) args.push('--max-payload-bytes', String(options.maxPayloadBytes));
      if (options.checkpointRoot) args.push('--checkpoint-root', options.checkpointRoot);
      return spawnReady(
        'packages/ps/dist/main.js',
        args,
        { ROWSHARD_TOKEN: options.token ?? undefined },
        20_000,
        options.nodeArgs,
      );
    }),
  );
  return {
    urls: processes.map((p) => String(p.ready.url)),
    processes,
    async stop() {
      await Promise.all(processes.map((p) => stopProcess(p)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
