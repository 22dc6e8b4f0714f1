import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';

/** A bench's command line (bench/src/bench-args.ts): its mistakes are said plainly, before any run. */
const bench = (name: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(repoRoot, 'bench/dist', `${name}.js`), ...args], { encoding: 'utf8', timeout: 60_000 });

describe('bench flags', () => {
  it('--help prints the usage and exits 0', () => {
    const r = bench('kernels-bench', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('pnpm bench:kernels [--json] [--repeats 200]');
  });

  it.each([
    ['train-bench', ['--bogus'], /Unknown option '--bogus'/],
    ['train-bench', ['--steps', 'abc'], /--steps must be a positive integer, got 'abc'/],
    ['ps-bench', ['--dim', '0'], /--dim must be a positive integer, got '0'/],
    ['ctr-bench', ['--batch', '1.5'], /--batch must be a positive integer, got '1\.5'/],
    ['fasttext-bench', ['--threads'], /--threads/],
  ])('%s %j: says what, with the usage, exit 2, no stack trace', (name, args, message) => {
    const r = bench(name, ...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^usage: pnpm bench:/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
