import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHECKPOINT_FORMAT,
  type CheckpointManifest,
  ErrorCodes,
  type PsTableConfig,
  parseSparseOptimizerConfig,
  tableSpec,
} from '@rowshard/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PsService } from './ps-service.js';
import { restoreShard, writeShardSnapshot } from './snapshot.js';
import { readShardSnapshot, readShardWeights } from './snapshot-read.js';

const tables = (dim: number): PsTableConfig[] => [
  {
    spec: tableSpec({ name: 'w', numEmbeddings: 40, embeddingDim: dim }),
    optimizer: parseSparseOptimizerConfig({ kind: 'adagrad', lr: 0.5 }),
  },
];
const ids = Float64Array.of(0, 3, 7, 12, 39);
const service = (dim = 4) => new PsService({ shard: 0, numShards: 1, seed: 9, tables: tables(dim) });
const rows = (s: PsService) => s.pull([{ table: 'w', ids }])[0];
const push = (s: PsService, g: number) =>
  s.push([{ table: 'w', ids, grads: new Float32Array(ids.length * s.table('w').dim).fill(g), lr: 0.5, step: 1 }]);

describe('restoreShard', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A one-shard checkpoint of `s` taken now, and its manifest. */
  async function checkpoint(s: PsService): Promise<{ dir: string; manifest: CheckpointManifest }> {
    const dir = mkdtempSync(join(tmpdir(), 'rowshard-restore-'));
    dirs.push(dir);
    const info = await writeShardSnapshot(s, join(dir, 'shard-0.safetensors'), 1);
    const manifest: CheckpointManifest = {
      format: CHECKPOINT_FORMAT,
      step: 1,
      createdAt: new Date(0).toISOString(),
      seed: 9,
      numShards: 1,
      tables: [],
      shards: [info],
      dense: { file: 'dense.safetensors', bytes: 0, sha256: '' },
      totalBytes: info.bytes,
      durationMs: 0,
    };
    return { dir, manifest };
  }

  it('loads a checkpoint it can read whole', async () => {
    const s = service();
    push(s, 1);
    const saved = rows(s);
    const { dir, manifest } = await checkpoint(s);
    push(s, 2);
    expect(restoreShard(s, manifest, dir)).toBe(ids.length);
    expect(rows(s)).toEqual(saved);
  });

  it('writes and restores a table of several chunks, weights and optimizer state', async () => {
    // 20000 rows (three chunks of 8192), dim 3 (the gather kernel's lane-by-lane tail), made in
    // reverse order so that slots are not row order.
    const config = (): PsTableConfig[] => [
      {
        spec: tableSpec({ name: 'w', numEmbeddings: 20000, embeddingDim: 3 }),
        optimizer: parseSparseOptimizerConfig({ kind: 'adagrad', lr: 0.5 }),
      },
    ];
    const all = Float64Array.from({ length: 20000 }, (_, i) => 19999 - i);
    const grads = Float32Array.from({ length: 3 * all.length }, (_, i) => (i % 7) - 3);
    const pushAll = (t: PsService) => t.push([{ table: 'w', ids: all, grads, lr: 0.5, step: 1 }]);
    const s = new PsService({ shard: 0, numShards: 1, seed: 9, tables: config() });
    pushAll(s);
    const { dir, manifest } = await checkpoint(s);
    const restored = new PsService({ shard: 0, numShards: 1, seed: 9, tables: config() });
    expect(restoreShard(restored, manifest, dir)).toBe(all.length);
    expect(restored.pull([{ table: 'w', ids: all }])[0]).toEqual(s.pull([{ table: 'w', ids: all }])[0]);
    // The same next update on both: equal rows only if the Adagrad sums came back too.
    pushAll(s);
    pushAll(restored);
    expect(restored.pull([{ table: 'w', ids: all }])[0]).toEqual(s.pull([{ table: 'w', ids: all }])[0]);
  });

  it.each([
    ['a missing shard file', (dir: string) => unlinkSync(join(dir, 'shard-0.safetensors')), 'cannot be read (ENOENT)'],
    ['a truncated shard file', (dir: string) => truncateSync(join(dir, 'shard-0.safetensors'), 100), 'the manifest records'],
    [
      'an altered shard file',
      (dir: string) => {
        const file = join(dir, 'shard-0.safetensors');
        const bytes = readFileSync(file);
        bytes[bytes.length - 1] ^= 0xff;
        writeFileSync(file, bytes);
      },
      'sha256 does not match the manifest',
    ],
  ])('refuses %s with E_BAD_CHECKPOINT and leaves every row as it was', async (_what, damage, message) => {
    const s = service();
    push(s, 1);
    const { dir, manifest } = await checkpoint(s);
    push(s, 2);
    const before = rows(s);
    const materialised = s.stats().rowsMaterialised;
    damage(dir);
    expect(() => restoreShard(s, manifest, dir)).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_CHECKPOINT, message: expect.stringContaining(message) }),
    );
    expect(rows(s)).toEqual(before);
    expect(s.stats().rowsMaterialised).toBe(materialised);
  });

  it('refuses a checkpoint of other dims, or with rows this job does not have, before touching a row', async () => {
    const small = service(4);
    push(small, 1);
    const { dir, manifest } = await checkpoint(small);
    const wide = service(8);
    push(wide, 3);
    const before = rows(wide);
    expect(() => restoreShard(wide, manifest, dir)).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_CHECKPOINT, message: expect.stringContaining('was saved with dim 4') }),
    );
    expect(rows(wide)).toEqual(before);

    const fewer = new PsService({
      shard: 0,
      numShards: 1,
      seed: 9,
      tables: [{ spec: tableSpec({ name: 'w', numEmbeddings: 10, embeddingDim: 4 }), optimizer: tables(4)[0].optimizer }],
    });
    const few = Float64Array.of(1, 2);
    fewer.push([{ table: 'w', ids: few, grads: new Float32Array(8).fill(1), lr: 0.5, step: 1 }]);
    const kept = fewer.pull([{ table: 'w', ids: few }])[0];
    expect(() => restoreShard(fewer, manifest, dir)).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_CHECKPOINT, message: expect.stringContaining('does not fit this job') }),
    );
    expect(fewer.pull([{ table: 'w', ids: few }])[0]).toEqual(kept);
  });
});

describe('readShardWeights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rowshard-weights-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a table's ids and weights as the whole-file reader does, without the optimizer slots", async () => {
    const s = service(5);
    push(s, 1);
    const file = join(dir, 'shard-0.safetensors');
    await writeShardSnapshot(s, file, 1);
    const whole = readShardSnapshot(file).tables[0];
    const part = readShardWeights(file, 'w');
    expect(part?.dim).toBe(5);
    expect(Array.from(part?.ids ?? [])).toEqual(Array.from(ids));
    expect(part?.weight).toEqual(whole.weight);
    expect(readShardWeights(file, 'other')).toBeNull();
  });

  it('refuses a file cut short, or not a shard file, naming it', async () => {
    const s = service(4);
    push(s, 1);
    const file = join(dir, 'cut.safetensors');
    await writeShardSnapshot(s, file, 1);
    truncateSync(file, readFileSync(file).length - 8);
    expect(() => readShardWeights(file, 'w')).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_CHECKPOINT, message: expect.stringContaining(file) }),
    );
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, 'not a checkpoint');
    expect(() => readShardWeights(junk, 'w')).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_CHECKPOINT }));
    expect(() => readShardWeights(join(dir, 'missing.safetensors'), 'w')).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_CHECKPOINT, message: expect.stringContaining('cannot be read (ENOENT)') }),
    );
  });
});
