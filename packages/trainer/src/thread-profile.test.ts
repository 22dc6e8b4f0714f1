import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startThreadProfile } from './thread-profile.js';

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'rowshard-thread-profile-'));
  dirs.push(d);
  return d;
}

describe('startThreadProfile', () => {
  it('does nothing without ROWSHARD_CPU_PROF_DIR', async () => {
    vi.stubEnv('ROWSHARD_CPU_PROF_DIR', '');
    const stop = await startThreadProfile(0);
    await expect(stop()).resolves.toBeUndefined();
  });

  it('makes a directory that is not there yet and writes worker-<rank>.cpuprofile into it', async () => {
    const dir = join(scratch(), 'not', 'yet');
    vi.stubEnv('ROWSHARD_CPU_PROF_DIR', dir);
    const stop = await startThreadProfile(3);
    expect(existsSync(dir)).toBe(true);
    await stop();
    await stop(); // a second call writes nothing more
    const profile = JSON.parse(readFileSync(join(dir, 'worker-3.cpuprofile'), 'utf8'));
    expect(profile.nodes.length).toBeGreaterThan(0);
  });

  it('reports a profile it cannot write on stderr instead of failing the work it measured', async () => {
    const dir = scratch();
    vi.stubEnv('ROWSHARD_CPU_PROF_DIR', dir);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stop = await startThreadProfile(1);
    rmSync(dir, { recursive: true });
    await expect(stop()).resolves.toBeUndefined();
    expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/worker 1: CPU profile not written to .*worker-1\.cpuprofile/);
  });

  it('refuses, naming the variable, a directory it cannot make', async () => {
    const file = join(scratch(), 'a-file');
    writeFileSync(file, '');
    vi.stubEnv('ROWSHARD_CPU_PROF_DIR', join(file, 'sub'));
    await expect(startThreadProfile(0)).rejects.toMatchObject({
      code: 'E_BAD_CONFIG',
      message: expect.stringContaining('ROWSHARD_CPU_PROF_DIR'),
    });
  });
});
