import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHECKPOINT_FORMAT,
  type CheckpointManifest,
  ErrorCodes,
  parseSparseOptimizerConfig,
  type ShardFileInfo,
  type TableSpec,
  tableSpec,
} from '@rowshard/core';
import { kernelRowInitializer } from '@rowshard/kernels';
import { PsService, writeShardSnapshot } from '@rowshard/ps';
import { afterAll, describe, expect, it } from 'vitest';
import { readSavedRows } from './checkpoint-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'rowshard-saved-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dim = 3;
const seed = 5;
const spec = tableSpec({ name: 'embedding', numEmbeddings: 40, embeddingDim: dim, init: { kind: 'uniform', a: -0.1, b: 0.1 } });
const optimizer = parseSparseOptimizerConfig({ kind: 'adagrad', lr: 0.5 });
const trained = [2, 3, 17, 18, 19, 39];

/** A checkpoint of `spec` over `numShards` shards, `trained` pushed once; its manifest and each trained row's values. */
async function checkpoint(name: string, numShards: number, manifestSpec: TableSpec = spec) {
  const at = join(dir, name);
  const shards: ShardFileInfo[] = [];
  const values = new Map<number, number[]>();
  for (let shard = 0; shard < numShards; shard++) {
    const s = new PsService({ shard, numShards, seed, tables: [{ spec, optimizer }] });
    const mine = Float64Array.from(trained.filter((id) => id % numShards === shard));
    const grads = Float32Array.from({ length: mine.length * dim }, (_, i) => Math.sin(i + shard));
    s.push([{ table: 'embedding', ids: mine, grads, lr: 0.5, step: 1 }]);
    const pulled = s.pull([{ table: 'embedding', ids: mine }])[0];
    mine.forEach((id, k) => {
      values.set(id, Array.from(pulled.subarray(k * dim, (k + 1) * dim)));
    });
    shards.push(await writeShardSnapshot(s, join(at, `shard-${shard}.safetensors`), 1));
  }
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    step: 1,
    createdAt: new Date(0).toISOString(),
    seed,
    numShards,
    tables: [{ spec: { ...manifestSpec }, optimizer: { ...optimizer }, stateFloats: dim, optimizerStep: 1 }],
    shards,
    dense: { file: 'dense.safetensors', bytes: 0, sha256: '' },
    totalBytes: 0,
    durationMs: 0,
  };
  return { at, manifest, values };
}

describe('readSavedRows', () => {
  it.each([1, 3])("gives a table's trained rows in id order, and the rest as their init, from %i shard file(s)", async (n) => {
    const { at, manifest, values } = await checkpoint(`shards-${n}`, n);
    const saved = readSavedRows(at, manifest, 'embedding');
    expect(Array.from(saved.ids)).toEqual(trained);
    const init = kernelRowInitializer(spec, seed);
    const want = new Float32Array(spec.numEmbeddings * dim);
    for (let id = 0; id < spec.numEmbeddings; id++) {
      const v = values.get(id);
      if (v) want.set(v, id * dim);
      else init.fill(id, 0, want, id * dim);
    }
    const all = new Float32Array(spec.numEmbeddings * dim);
    saved.fillRows(0, spec.numEmbeddings, all);
    expect(all).toEqual(want);
    const one = new Float32Array(dim);
    saved.row(17, one, 0);
    expect(Array.from(one)).toEqual(values.get(17));
  });

  it('refuses a saved row the table does not have, naming the row', async () => {
    const { at, manifest } = await checkpoint('fewer', 2, tableSpec({ ...spec, numEmbeddings: 20 }));
    expect(() => readSavedRows(at, manifest, 'embedding')).toThrow(
      expect.objectContaining({
        code: ErrorCodes.BAD_CHECKPOINT,
        message: expect.stringContaining('saves row 39 outside its 20 rows'),
      }),
    );
  });
});
