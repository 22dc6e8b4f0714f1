import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { BUNDLE_ENTRIES } from '@rowshard/transport';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The bundle that `pnpm build` makes (packages/cli/scripts/bundle.mjs) and that `rowshard`
 * runs: every entry point in it, the add-ons it leaves outside found from it, and a run from it
 * starting each of its processes from it, not from the packages' dist/. The other CLI tests run
 * the bundle too; package-install.test.ts checks it trains bitwise as the unbundled CLI does.
 */
const bundle = join(repoRoot, 'packages/cli/bundle');
const dir = mkdtempSync(join(tmpdir(), 'rowshard-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the bundle', () => {
  it('holds every entry point that the code asks for', () => {
    for (const name of BUNDLE_ENTRIES) expect(existsSync(join(bundle, `${name}.js`)), name).toBe(true);
  });

  it('is not older than what it was made from (after tsc -b alone, pnpm build makes it again)', () => {
    const built = statSync(join(bundle, 'rowshard.js')).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(bundle, 'inputs.json'), 'utf8')) as string[];
    expect(inputs.length).toBeGreaterThan(100);
    const newer = inputs.filter((p) => statSync(join(repoRoot, 'packages', p)).mtimeMs > built);
    expect(newer, 'changed since the bundle was made: run pnpm build').toEqual([]);
  });

  it('finds the packages it leaves outside (piscina, the native add-ons) from its own directory', () => {
    const require = createRequire(join(bundle, 'rowshard.js'));
    const workspace = createRequire(join(repoRoot, 'packages/transport/package.json'));
    for (const name of ['piscina', 'msgpackr-extract', 'bufferutil']) expect(() => require.resolve(name), name).not.toThrow();
    // The same add-on build as the unbundled packages load.
    expect(require.resolve('bufferutil')).toBe(workspace.resolve('bufferutil'));
  });

  it('a run from it starts the coordinator, the shards and the trainers from it', async () => {
    const job = join(dir, 'long.yaml');
    writeFileSync(
      job,
      [
        'model: { name: text_classifier, options: { vocabSize: 500, embeddingDim: 4, hiddenDim: 4, numClasses: 2 } }',
        'steps: 100000',
        'batchSize: 8',
        'data: { kind: synthetic_text, vocabSize: 500, seqLen: 6, numClasses: 2 }',
        'cluster: { ps: 2, trainers: 1, workersPerTrainer: 1 }',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [join(bundle, 'rowshard.js'), 'train', '--config', job, '--json'], { cwd: dir });
    const commandLines = new Map<string, string>();
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.once('close', (code) => reject(new Error(`exited ${code} before training`)));
      child.stdout.on('data', (d) => {
        out += d;
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const line of lines) {
          const e = JSON.parse(line) as { event?: string; role?: string; shard?: number; pid?: number };
          if (e.event === 'listening' && e.pid !== undefined) {
            const argv = readFileSync(`/proc/${e.pid}/cmdline`, 'utf8').split('\0');
            commandLines.set(`${e.role}${e.shard ?? ''}`, argv.find((a) => a.endsWith('.js')) ?? argv.join(' '));
          }
          if (e.event === 'progress') resolve();
        }
      });
    });
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('close', resolve));
    expect(Object.fromEntries(commandLines)).toEqual({
      coordinator: join(bundle, 'coordinator.js'),
      ps0: join(bundle, 'ps.js'),
      ps1: join(bundle, 'ps.js'),
      trainer: join(bundle, 'trainer.js'),
    });
  });
});
