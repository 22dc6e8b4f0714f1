import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RowshardError, STORAGE_MARKER_FILE, storageMarkerNonce } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { SharedStorageCheck } from './shared-storage.js';

const scratch = mkdtempSync(join(tmpdir(), 'rowshard-storage-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const nonceIn = (dir: string) => storageMarkerNonce(readFileSync(join(dir, STORAGE_MARKER_FILE), 'utf8')) as string;

function check(name: string, shards: number, graceMs = 10_000) {
  const stops: RowshardError[] = [];
  const dir = join(scratch, name, 'ckpt');
  const c = new SharedStorageCheck(dir, shards, (e) => stops.push(e), graceMs);
  const stopped = () => new Promise<RowshardError>((resolve) => setTimeout(() => resolve(stops[0]), 0));
  return { c, dir, stops, stopped };
}

describe('SharedStorageCheck', () => {
  it('creates the directory and a marker; a shard that reads its nonce back passes, and the marker goes at close', async () => {
    const { c, dir, stops } = check('ok', 2);
    expect(c.unchecked).toBeNull();
    expect(c.request).toEqual({ dir });
    const nonce = nonceIn(dir);
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(c.check(0, 'a', { nonce })).toBeNull();
    expect(c.check(1, 'b', { nonce })).toBeNull();
    await new Promise((r) => setTimeout(r, 5));
    expect(stops).toEqual([]);
    c.close();
    expect(existsSync(join(dir, STORAGE_MARKER_FILE))).toBe(false);
  });

  it('refuses a wrong nonce, a problem or no answer, and stops once every shard has answered', async () => {
    const { c, dir, stopped } = check('bad', 3);
    const nonce = nonceIn(dir);
    expect(c.check(0, 'ps-a', { nonce })).toBeNull();
    expect(c.check(1, 'ps-b', { nonce: 'ab'.repeat(16) })).toMatchObject({
      code: 'E_STORAGE_NOT_SHARED',
      message: expect.stringContaining('holds another nonce than the one this coordinator wrote'),
    });
    expect(c.check(2, 'ps-c', undefined)?.message).toContain('did not read the storage marker back');
    const error = await stopped();
    expect(error.code).toBe('E_STORAGE_NOT_SHARED');
    expect(error.message).toContain(
      'the parameter servers of shard 1 (ps-b), shard 2 (ps-c) do not see the same checkpoint directory',
    );
    expect(error.message).toContain('(shards 0 do share it.)');
    c.close();
  });

  it('after a refusal, waits for the other shards only for the grace period', async () => {
    const { c, stops } = check('grace', 2, 20);
    c.check(0, 'ps-a', { problem: 'it has no checkpoint root' });
    expect(stops).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(stops[0].message).toContain('Shard 0: it has no checkpoint root. (shards 1 had not registered yet.)');
  });

  it('a shard that registers again and passes withdraws its refusal before the job stops', async () => {
    const { c, dir, stops } = check('again', 2, 20);
    c.check(0, 'ps-a', { problem: 'mounted late' });
    c.check(0, 'ps-a', { nonce: nonceIn(dir) });
    await new Promise((r) => setTimeout(r, 60));
    expect(stops).toEqual([]);
    c.close();
  });

  it('where the marker cannot be written nothing is checked, and says why', () => {
    if (process.getuid?.() === 0) {
      // root writes through permissions: a path under a regular file cannot be created by anyone.
      writeFileSync(join(scratch, 'file'), '');
    } else {
      chmodSync(scratch, 0o500);
    }
    const dir = process.getuid?.() === 0 ? join(scratch, 'file', 'ckpt') : join(scratch, 'ro', 'ckpt');
    const c = new SharedStorageCheck(dir, 1, () => {});
    if (process.getuid?.() !== 0) chmodSync(scratch, 0o700);
    expect(c.request).toBeNull();
    expect(c.unchecked).toMatch(
      /^could not write .*\.rowshard-storage \(E[A-Z]+\), so whether the parameter servers share .* is not checked$/,
    );
    expect(c.check(0, 'x', undefined)).toBeNull();
    c.close();
  });

  it('close leaves a newer coordinator’s marker in place', () => {
    const { c, dir } = check('newer', 1);
    const newer = new SharedStorageCheck(dir, 1, () => {});
    const nonce = nonceIn(dir);
    c.close();
    expect(nonceIn(dir)).toBe(nonce);
    newer.close();
  });
});
