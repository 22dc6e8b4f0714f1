import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORAGE_MARKER_FILE, STORAGE_MARKER_FORMAT } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointRoot } from './checkpoint-root.js';
import { proveSharedStorage } from './storage-proof.js';

const root = mkdtempSync(join(tmpdir(), 'rowshard-storage-proof-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'job');
mkdirSync(dir);

describe('proveSharedStorage', () => {
  it('answers the nonce of the marker under the checkpoint root', () => {
    const nonce = '0123456789abcdef0123456789abcdef';
    writeFileSync(join(dir, STORAGE_MARKER_FILE), JSON.stringify({ format: STORAGE_MARKER_FORMAT, nonce }));
    expect(proveSharedStorage(new CheckpointRoot(root), dir)).toEqual({ nonce });
  });

  it('says why it cannot: no root, outside the root, no marker, not a marker', () => {
    expect(proveSharedStorage(null, dir).problem).toMatch(
      /^it has no checkpoint root \(--checkpoint-root, ROWSHARD_CHECKPOINT_ROOT\)/,
    );
    expect(proveSharedStorage(new CheckpointRoot(dir), root).problem).toBe(
      `the job's checkpoint directory ${root} is outside its checkpoint root ${dir}`,
    );
    expect(proveSharedStorage(new CheckpointRoot(root), join(root, 'other')).problem).toContain(
      `${join(root, 'other', STORAGE_MARKER_FILE)}, which the coordinator has just written, does not exist on this parameter server`,
    );
    writeFileSync(join(dir, STORAGE_MARKER_FILE), '{"nonce": "x"}');
    expect(proveSharedStorage(new CheckpointRoot(root), dir).problem).toBe(
      `${join(dir, STORAGE_MARKER_FILE)} on this parameter server is not a rowshard storage marker`,
    );
  });
});
