import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleEntry, roleCredential } from '@rowshard/transport/launch';

/**
 * V8 flags for every role process. A role's JavaScript heap is small (a few MB: rows live in
 * WebAssembly memory), and V8 sizes its old-generation limit from the live heap, so each step's
 * few promoted objects would start a full collection every few steps (about 30 per worker in
 * 300 steps of the training benchmark); a 64 MB starting limit leaves them to the cheap young
 * collections (2 full ones). deploy/Dockerfile starts roles with the same flag.
 */
export const roleNodeArgs: readonly string[] = ['--initial-old-space-size=64'];

/** The three role packages a local cluster runs. */
export type RolePackage = 'coordinator' | 'ps' | 'trainer';

/**
 * The processes a local cluster runs for a job's `cluster` section: `ps` shards (default 2),
 * `trainers` (default 1), each trainer's thread count where `workersPerTrainer` is a positive
 * integer (else null: the trainer learns it from the coordinator). The sizes are as given,
 * unchecked: the job's check reports a bad one.
 */
export function clusterShape(cluster: Readonly<Record<string, unknown>> | undefined): {
  ps: unknown;
  trainers: unknown;
  threads: number | null;
} {
  const threads = cluster?.workersPerTrainer;
  return {
    ps: cluster?.ps ?? 2,
    trainers: cluster?.trainers ?? 1,
    threads: typeof threads === 'number' && Number.isInteger(threads) && threads > 0 ? threads : null,
  };
}

// Each role's entry point: the bundle's, when this runs from it; else the package's dist/main.js,
// found through module resolution (the same in the repository and in a `pnpm deploy` of the CLI).
const require = createRequire(import.meta.url);
const entry = (pkg: RolePackage) => {
  const bundled = bundleEntry(pkg);
  return bundled ? fileURLToPath(bundled) : join(dirname(require.resolve(`@rowshard/${pkg}/package.json`)), 'dist/main.js');
};

export interface RoleProcessOptions {
  /** The cluster token: the coordinator and the shards get it, a trainer only its role credential. */
  readonly token: string;
  /** Extra environment (fault injection in tests). */
  readonly env?: Record<string, string>;
  readonly nodeArgs?: readonly string[];
}

/**
 * Starts `pkg` as the process `role` with `args`. Its stdin is a pipe the child watches
 * (exitWithParent): if this process dies, the child follows. Each process gets only the
 * secret its role needs: the coordinator and the shards check credentials, so they hold the
 * cluster token; a trainer holds its own credential, from which no other role's follows. A
 * ROWSHARD_TOKEN inherited from this shell is removed. ROWSHARD_CPU_PROF_DIR profiles every
 * role's main thread too (its worker threads profile themselves).
 */
export function spawnRoleProcess(
  role: string,
  pkg: RolePackage,
  args: readonly string[],
  options: RoleProcessOptions,
): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(options.env ?? {}), ROWSHARD_EXIT_WITH_PARENT: '1' };
  delete env.ROWSHARD_TOKEN;
  delete env.ROWSHARD_ROLE_TOKEN;
  if (pkg === 'trainer') env.ROWSHARD_ROLE_TOKEN = roleCredential(options.token, 'trainer');
  else env.ROWSHARD_TOKEN = options.token;
  const profileDir = process.env.ROWSHARD_CPU_PROF_DIR;
  const profileArgs = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${role.replace(/\s+/g, '-')}.cpuprofile`]
    : [];
  return spawn(process.execPath, [...roleNodeArgs, ...profileArgs, ...(options.nodeArgs ?? []), entry(pkg), ...args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
