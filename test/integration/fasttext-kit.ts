import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll } from 'vitest';

/** What the fastText tests share: the CLI, a scratch directory, the two programs run in it, the corpora's generator. */

export const rowshardCli = join(repoRoot, 'packages/cli/bundle/rowshard.js');

/** Whether fastText 0.9.2 is installed (CI installs it); `test` says it is skipped where not. */
export function fastTextInstalled(test: string): boolean {
  const installed = !spawnSync('fasttext', [], { stdio: 'ignore' }).error;
  if (!installed) console.warn(`${test}: fastText is not installed (apt-get install fasttext); skipped`);
  return installed;
}

/** A temporary directory removed after the file's tests. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `fasttext` and `rowshard` run in `dir`, their output as latin1 (fastText's files are bytes). */
export function programsIn(dir: string, rowshardTimeoutMs = 120_000) {
  const options = (input: string | undefined, timeout: number) =>
    ({ cwd: dir, encoding: 'latin1', input, timeout, maxBuffer: 1 << 28 }) as const;
  return {
    fasttext: (args: string[], input?: string) => spawnSync('fasttext', args, options(input, 120_000)),
    rowshard: (args: string[], input?: string) =>
      spawnSync(process.execPath, [rowshardCli, ...args], options(input, rowshardTimeoutMs)),
  };
}

/** Park and Miller's generator: rand(k) in [0, k), the same corpus on every run. */
export function parkMiller(seed: number): (k: number) => number {
  let s = seed;
  return (k) => {
    s = (s * 48271) % 2147483647;
    return s % k;
  };
}
