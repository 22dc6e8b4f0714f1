import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureDir, repoRoot } from '@rowshard/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('rowshard parity (the built CLI)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'rowshard-parity-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(['pytorch', 'pytorch-alt'] as const)('passes every case of %s and exits 0', (set) => {
    const r = run('parity', fixtureDir(set));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('PASS')).length).toBe(23);
    expect(lines.at(-1)).toBe('23 passed, 0 failed');
  });

  it('exits 1 when a case is off, and names it', () => {
    const dir = join(scratch, 'off');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const fx = JSON.parse(readFileSync(join(fixtureDir(), 'forward_lookup.json'), 'utf8'));
    fx.cases[0].output.data[0] += 1;
    writeFileSync(join(dir, 'lookup.json'), JSON.stringify(fx));
    const r = run('parity', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}lookup\.json cases\[0\] defaults {2}max_abs_err=1\.00e\+0/m);
  });

  it('exits 2 with one clear line for a malformed file, and still runs the others', () => {
    const dir = join(scratch, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a_broken.json'), '{"cases": [');
    writeFileSync(join(dir, 'b_unknown.json'), '{"what": "?"}');
    writeFileSync(join(dir, 'c_missing.json'), '{"runs": [], "initial_weight": {"shape": [1, 1], "data": [0]}}');
    writeFileSync(join(dir, 'd_good.json'), readFileSync(join(fixtureDir(), 'sparse_optimizers.json'), 'utf8'));
    const r = run('parity', dir);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^ERROR a_broken\.json: E_BAD_FIXTURE: a_broken\.json: \(file\): not valid JSON/m);
    expect(r.stdout).toMatch(/^ERROR b_unknown\.json: E_BAD_FIXTURE: .*unknown fixture kind/m);
    expect(r.stdout).toMatch(/^ERROR c_missing\.json: E_BAD_FIXTURE: c_missing\.json: \.steps: missing field/m);
    expect(r.stdout).toMatch(/^PASS {2}d_good\.json runs\[3\] sparse_adam/m);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('exits 2 for a missing directory or a wrong argument count', () => {
    const missing = run('parity', join(scratch, 'nope'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('does not exist');
    expect(run('parity').status).toBe(2);
    expect(run('parity', '--frobnicate', '.').stderr).toContain('unknown option --frobnicate');
  });
});
