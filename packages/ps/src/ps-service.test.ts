import { ErrorCodes, parseSparseOptimizerConfig, tableSpec } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { PsService } from './ps-service.js';

/** Two tables on one shard: an SGD one and an Adagrad one, as a request with parts for both. */
function shard(): PsService {
  return new PsService({
    shard: 0,
    numShards: 1,
    seed: 4,
    tables: [
      {
        spec: tableSpec({ name: 'a', numEmbeddings: 10, embeddingDim: 4 }),
        optimizer: parseSparseOptimizerConfig({ kind: 'sgd', lr: 1 }),
      },
      {
        spec: tableSpec({ name: 'b', numEmbeddings: 10, embeddingDim: 4 }),
        optimizer: parseSparseOptimizerConfig({ kind: 'adagrad', lr: 1 }),
      },
    ],
  });
}

const ids = Float64Array.of(1, 5, 5, 8);
const all = Float64Array.from({ length: 10 }, (_, i) => i);
const snapshot = (s: PsService) =>
  s
    .pull([
      { table: 'a', ids: all },
      { table: 'b', ids: all },
    ])
    .map((r) => Array.from(r));
const part = (table: string, g: number, lr = 1) => ({ table, ids, grads: new Float32Array(16).fill(g), lr, step: 1 });

describe('PsService: an update that would leave a row non-finite', () => {
  it.each([
    ['a weight overflowing (SGD, 3e38 at lr 10)', [part('b', 0.5), part('a', 3e38, 10)], "table 'a': the update of row 1"],
    ['an optimizer slot overflowing (Adagrad, g² past f32)', [part('a', 0.5), part('b', 1e20)], "table 'b': the update of row 1"],
  ])('is refused whole, every table put back: %s', (_what, parts, message) => {
    const s = shard();
    s.push([part('a', 0.25), part('b', 0.25)]);
    const before = snapshot(s);
    const { rowsPushed } = s.stats();
    expect(() => s.push(parts)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.BAD_GRADIENT,
        message: expect.stringContaining(`${message} makes its weights or optimizer state non-finite`),
      }),
    );
    expect(snapshot(s)).toEqual(before);
    expect(s.stats().rowsPushed).toBe(rowsPushed);
    // The shard goes on: the next finite update applies.
    s.push([part('a', 0.5)]);
    expect(snapshot(s)[0]).not.toEqual(before[0]);
    expect(snapshot(s)[1]).toEqual(before[1]);
  });
});
