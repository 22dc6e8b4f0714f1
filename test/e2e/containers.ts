import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { inject } from 'vitest';

/**
 * What the container tests share: whether a Docker engine is reachable (they skip with the
 * reason where none is), and the image of deploy/Dockerfile, built once per test run and
 * reused by every container test file (each runs in its own process). The tag is this
 * checkout's own, so test runs of other checkouts on the same engine never swap images.
 */

/** The image tag of this checkout: `rowshard-test:<hash of its path>`. */
export const imageTag = `rowshard-test:${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}`;

/** Why no container test can run here, or null when `docker info` answers. */
export function noEngineReason(): string | null {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 30_000 });
  if (info.error) return `the docker client is not installed (${info.error.message})`;
  if (info.status !== 0) {
    const why = (info.stderr || info.stdout).trim().split('\n').at(-1);
    return `no Docker engine reachable (docker info: ${why}); start one with ../shared/tools/container-engine (as root), as .ci/run does`;
  }
  return null;
}

/** `docker ...` (or any command), resolving with its stdout; rejects with its stderr on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {}); // a command that exits without reading all of it
      child.stdin?.end(options.input);
    }
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited ${signal ?? code}: ${(err || out).trim().slice(-3000)}`));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Holds the lock directory `dir` (created atomically; taken over from a holder that died)
 * while `work` runs: one holder at a time across processes.
 */
export async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = 0;
      try {
        holder = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        // Just created, its pid not yet written.
      }
      if (holder > 0 && !alive(holder)) rmSync(dir, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const imageDir = join(tmpdir(), `rowshard-image-${imageTag.split(':')[1]}`);

/**
 * The image, built once in this test run (globalSetup's run id): the first file to ask
 * builds it under a lock, the others wait for it and reuse it. Resolves with the tag; logs
 * the build time and the image's size.
 */
export async function testImage(): Promise<string> {
  const runId = inject('rowshardRunId');
  mkdirSync(imageDir, { recursive: true });
  const stamp = join(imageDir, `built-${runId}`);
  return withLock(join(imageDir, 'lock'), async () => {
    if (existsSync(stamp)) {
      const saved = readFileSync(stamp, 'utf8');
      if (saved.startsWith('error:')) throw new Error(`building ${imageTag} failed earlier in this run: ${saved.slice(6)}`);
      return imageTag;
    }
    const started = performance.now();
    try {
      await run('docker', ['build', '-q', '-f', join(repoRoot, 'deploy', 'Dockerfile'), '-t', imageTag, repoRoot]);
    } catch (e) {
      writeFileSync(stamp, `error:${(e as Error).message}`);
      throw e;
    }
    const seconds = (performance.now() - started) / 1000;
    const size = (await run('docker', ['image', 'inspect', imageTag, '--format', '{{.Size}}'])).trim();
    console.log(
      `[containers] built ${imageTag} from deploy/Dockerfile in ${seconds.toFixed(1)} s (${(Number(size) / 1e6).toFixed(0)} MB); the other container tests of this run reuse it`,
    );
    writeFileSync(stamp, imageTag);
    return imageTag;
  });
}

/**
 * A copy of this checkout's files (tracked, and untracked but not ignored: what a fresh
 * clone plus the work in progress holds) in `dir`, for tests that run the deploy README's
 * commands from a repository root of their own: its deploy/*.env files are theirs to write.
 */
export async function copyOfCheckout(dir: string): Promise<void> {
  const files = await run('git', ['ls-files', '-z', '-co', '--exclude-standard'], { cwd: repoRoot });
  mkdirSync(dir, { recursive: true });
  const list = files.split('\0').filter((f) => f && existsSync(join(repoRoot, f)));
  await run('tar', ['-C', repoRoot, '--null', '-T', '-', '-cf', join(dir, '.checkout.tar')], { input: list.join('\0') });
  await run('tar', ['-C', dir, '-xf', join(dir, '.checkout.tar')]);
  rmSync(join(dir, '.checkout.tar'));
}

declare module 'vitest' {
  export interface ProvidedContext {
    rowshardRunId: string;
  }
}
