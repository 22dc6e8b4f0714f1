import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The installable package, as a new user gets it: `pnpm pack:rowshard` makes the tarball,
 * `npm install -g` puts `rowshard` on PATH (here under a temporary prefix), and a model module
 * in a directory outside the repository, with no node_modules of its own, imports `rowshard/nn`
 * and has its vocabulary size and class count filled from the data.
 */
const work = mkdtempSync(join(tmpdir(), 'rowshard-package-'));
const prefix = join(work, 'global');
const jobDir = join(work, 'job');
const rowshard = join(prefix, 'bin', 'rowshard');
const version = JSON.parse(readFileSync(join(repoRoot, 'packages/rowshard/package.json'), 'utf8')).version as string;

function corpus(n: number): string {
  const lines = [];
  for (let i = 0; i < n; i++)
    lines.push(
      i % 2 ? `__label__royal the king and the queen rule w${i % 7}` : `__label__food bread and cheese taste good w${i % 5}`,
    );
  return `${lines.join('\n')}\n`;
}

function run(args: string[]) {
  return spawnSync(rowshard, args, {
    cwd: jobDir,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` },
  });
}

function summaryOf(r: ReturnType<typeof spawnSync>): { steps: number; finalLoss: number } {
  expect(r.status, String(r.stderr)).toBe(0);
  const events = String(r.stdout)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return events.find((e) => e.event === 'summary') as { steps: number; finalLoss: number };
}

beforeAll(() => {
  const out = join(work, 'out');
  const tarball = execFileSync(process.execPath, [join(repoRoot, 'packages/rowshard/scripts/pack.mjs'), '--out-dir', out], {
    encoding: 'utf8',
  }).trim();
  expect(tarball).toBe(join(out, `rowshard-${version}.tgz`));
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work, stdio: 'pipe' });
  mkdirSync(jobDir);
  copyFileSync(join(repoRoot, 'test/fixtures/models/bag-of-words.mjs'), join(jobDir, 'model.mjs'));
  writeFileSync(join(jobDir, 'train.txt'), corpus(200));
  writeFileSync(
    join(jobDir, 'job.yaml'),
    [
      'model: { path: ./model.mjs, options: { embeddingDim: 8 } }',
      'data: { kind: file, path: train.txt, features: sequence, seqLen: 8 }',
      'steps: 30',
      '',
    ].join('\n'),
  );
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the rowshard package, installed from its tarball', () => {
  it('puts rowshard on PATH with its version and help', () => {
    expect(existsSync(rowshard)).toBe(true);
    const v = run(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(`rowshard ${version}`);
    const help = run(['train', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--config/);
  });

  it('trains a model module outside the repository that imports rowshard/nn, its sizes from the data', () => {
    expect(relative(repoRoot, jobDir).startsWith('..')).toBe(true);
    expect(existsSync(join(jobDir, 'node_modules'))).toBe(false);
    const installed = summaryOf(run(['train', '--config', 'job.yaml', '--json', '--quiet']));
    expect(installed.steps).toBe(30);
    // The gradients reached the tables through the module's operations: it learnt (ln 2 ≈ 0.69 at chance).
    expect(installed.finalLoss).toBeLessThan(0.3);
    // And it is the repository's unbundled CLI (the packages' dist/) on the same job, bitwise (BSP, the default).
    const cli = join(repoRoot, 'packages/cli/dist/main.js');
    const inRepo = summaryOf(
      spawnSync(process.execPath, [cli, 'train', '--config', 'job.yaml', '--json', '--quiet'], {
        cwd: jobDir,
        encoding: 'utf8',
        timeout: 120_000,
      }),
    );
    expect(installed.finalLoss).toBe(inRepo.finalLoss);
  });

  it('resolves paths against where it was typed when run as pnpm -C <repository> rowshard', () => {
    const r = spawnSync(
      'npx',
      ['-y', 'pnpm@12.4.2', '-C', repoRoot, 'rowshard', 'train', '--config', 'job.yaml', '--json', '--quiet'],
      {
        cwd: jobDir,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(summaryOf(r).steps).toBe(30);
  });

  it('is what the README shows: its install lines and its model module', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain(`npm install -g ./rowshard-${version}.tgz`);
    expect(readme).toContain(readFileSync(join(repoRoot, 'test/fixtures/models/bag-of-words.mjs'), 'utf8'));
    expect(readme).toContain(readFileSync(join(jobDir, 'job.yaml'), 'utf8').split('\n')[1]);
  });

  it('names the module and the allowed facts when optionsFromData asks for an unknown one', () => {
    const source = readFileSync(join(jobDir, 'model.mjs'), 'utf8').replace(
      "numClasses: 'numClasses' }",
      "numClasses: 'labels' }",
    );
    writeFileSync(join(jobDir, 'bad-model.mjs'), source);
    writeFileSync(
      join(jobDir, 'bad.yaml'),
      readFileSync(join(jobDir, 'job.yaml'), 'utf8').replace('./model.mjs', './bad-model.mjs'),
    );
    const r = run(['train', '--config', 'bad.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /bad-model\.mjs: export optionsFromData\.numClasses: must be one of vocabSize, numClasses, buckets, seqLen, examples \(got "labels"\)/,
    );
  });
});
