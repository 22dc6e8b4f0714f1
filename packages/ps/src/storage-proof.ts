import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RowshardError, STORAGE_MARKER_FILE, type StorageProof, storageMarkerNonce } from '@rowshard/core';
import type { CheckpointRoot } from './checkpoint-root.js';

/**
 * This parameter server's half of the shared-storage check (STORAGE_MARKER_FILE in the
 * core): reads the marker the coordinator wrote into the job's checkpoint directory `dir`,
 * under this process's checkpoint root, and answers its nonce, or why it could not. Only
 * the marker's fixed name is read, and only its nonce leaves the process.
 */
export function proveSharedStorage(root: CheckpointRoot | null, dir: string): StorageProof {
  if (!root) {
    return {
      problem: 'it has no checkpoint root (--checkpoint-root, ROWSHARD_CHECKPOINT_ROOT), so it can read and write no checkpoint',
    };
  }
  let real: string;
  try {
    real = root.confine(dir, 'checkpoint storage check');
  } catch (e) {
    if (!(e instanceof RowshardError)) throw e;
    return { problem: `the job's checkpoint directory ${dir} is outside its checkpoint root ${root.path}` };
  }
  const file = join(real, STORAGE_MARKER_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return {
        problem: `${join(dir, STORAGE_MARKER_FILE)}, which the coordinator has just written, does not exist on this parameter server: its ${dir} is another directory than the coordinator's`,
      };
    }
    return { problem: `it cannot read ${join(dir, STORAGE_MARKER_FILE)} (${code ?? (e as Error).message})` };
  }
  const nonce = storageMarkerNonce(text);
  if (nonce === null)
    return { problem: `${join(dir, STORAGE_MARKER_FILE)} on this parameter server is not a rowshard storage marker` };
  return { nonce };
}
