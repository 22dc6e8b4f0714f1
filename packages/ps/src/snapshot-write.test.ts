import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, RowshardError, tableSpec } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { PsService } from './ps-service.js';
import { writeShardSnapshot } from './snapshot.js';

const root = mkdtempSync(join(tmpdir(), 'rowshard-snapshot-write-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Shard 1 of 2 with a few rows materialised (it owns the odd ids). */
function service(): PsService {
  const s = new PsService({
    shard: 1,
    numShards: 2,
    seed: 3,
    tables: [{ spec: tableSpec({ name: 't', numEmbeddings: 64, embeddingDim: 4 }), optimizer: null }],
  });
  s.pull([{ table: 't', ids: Float64Array.of(1, 3, 5, 63) }]);
  return s;
}

async function thrownBy(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('writeShardSnapshot on a disk that refuses it', () => {
  it('creates the checkpoint directory itself', async () => {
    const info = await writeShardSnapshot(service(), join(root, 'new', 'step-00000010', 'shard-1.safetensors'), 10);
    expect(info).toMatchObject({ file: 'shard-1.safetensors', rows: { t: 4 } });
    expect(existsSync(join(root, 'new', 'step-00000010', 'shard-1.safetensors'))).toBe(true);
  });

  it('a directory that cannot be created is E_CHECKPOINT_WRITE naming the file and the system reason', async () => {
    writeFileSync(join(root, 'blocked'), 'a file, not a directory');
    const file = join(root, 'blocked', 'step-00000010', 'shard-1.safetensors');
    const e = await thrownBy(() => writeShardSnapshot(service(), file, 10));
    expect(e).toBeInstanceOf(RowshardError);
    expect(e).toMatchObject({ code: ErrorCodes.CHECKPOINT_WRITE, details: { file, errno: 'ENOTDIR' } });
    expect((e as Error).message).toContain(`writing ${file}: ENOTDIR`);
  });

  it('a write that fails after the .tmp file was written removes the .tmp', async () => {
    const dir = join(root, 'step-00000020');
    const file = join(dir, 'shard-1.safetensors');
    mkdirSync(join(file, 'occupied'), { recursive: true }); // the rename onto a non-empty directory fails
    const e = await thrownBy(() => writeShardSnapshot(service(), file, 20));
    expect(e).toMatchObject({ code: ErrorCodes.CHECKPOINT_WRITE, details: { file } });
    expect(readdirSync(dir)).toEqual(['shard-1.safetensors']);
  });
});
