import { describe, expect, it } from 'vitest';
import { initDenseTable, rowInitializer } from './init.js';
import { shardOfDense } from './shard.js';
import { tableSpec } from './table-spec.js';

function moments(values: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / values.length) };
}

/** Each of n shards materialises only its own rows, touched in a shard-specific order. */
function materialiseSharded(spec: ReturnType<typeof tableSpec>, seed: number, numShards: number): Float32Array {
  const dim = spec.embeddingDim;
  const out = new Float32Array(spec.numEmbeddings * dim);
  for (let shard = 0; shard < numShards; shard++) {
    const init = rowInitializer(spec, seed); // a fresh process per shard
    const rows: number[] = [];
    for (let r = 0; r < spec.numEmbeddings; r++) if (shardOfDense(r, numShards) === shard) rows.push(r);
    // Touch order differs per shard: reversed, then interleaved.
    const order = shard % 2 === 0 ? rows.reverse() : rows.filter((_, i) => i % 2).concat(rows.filter((_, i) => !(i % 2)));
    const scratch = new Float32Array(dim);
    for (const r of order) {
      init.fill(r, 0, scratch, 0);
      out.set(scratch, r * dim);
    }
  }
  return out;
}

describe('deterministic row init', () => {
  const spec = tableSpec({ name: 'words', numEmbeddings: 2000, embeddingDim: 7, paddingIdx: 3 });

  it('gives every row the same vector with 1, 3 and 7 shards, whatever the touch order', () => {
    const one = materialiseSharded(spec, 42, 1);
    expect(materialiseSharded(spec, 42, 3)).toEqual(one);
    expect(materialiseSharded(spec, 42, 7)).toEqual(one);
    expect(initDenseTable(spec, 42)).toEqual(one);
  });

  it('depends on the seed and the table name, not on anything else', () => {
    const a = initDenseTable(spec, 42);
    expect(initDenseTable(spec, 43)).not.toEqual(a);
    expect(initDenseTable(tableSpec({ ...spec, name: 'other' }), 42)).not.toEqual(a);
    // A wider table extends the narrower one's rows without changing their first values.
    const wide = initDenseTable(tableSpec({ ...spec, embeddingDim: 9 }), 42);
    expect(wide.subarray(9, 9 + 7)).toEqual(a.subarray(7, 14));
  });

  it('zeroes the padding row', () => {
    const w = initDenseTable(spec, 1);
    expect([...w.subarray(3 * 7, 4 * 7)]).toEqual(new Array(7).fill(0));
    expect(w.subarray(2 * 7, 3 * 7).some((v) => v !== 0)).toBe(true);
  });

  it.each([
    { init: { kind: 'normal', mean: 0, std: 1 }, mean: 0, std: 1 },
    { init: { kind: 'normal', mean: 2, std: 0.5 }, mean: 2, std: 0.5 },
    { init: { kind: 'uniform', a: -1, b: 3 }, mean: 1, std: 4 / Math.sqrt(12) },
  ] as const)('draws $init.kind($mean, $std) over 1M values', ({ init, mean, std }) => {
    const t = tableSpec({ name: 't', numEmbeddings: 15625, embeddingDim: 64, init });
    const m = moments(initDenseTable(t, 7));
    // 1M draws: the sample mean's standard error is std/1000; allow 5 of them.
    expect(Math.abs(m.mean - mean)).toBeLessThan((5 * std) / 1000);
    expect(Math.abs(m.std - std) / std).toBeLessThan(0.005);
  });

  it('normal draws have normal tails (|z| > 3 about 0.27% of the time)', () => {
    const t = tableSpec({ name: 'tails', numEmbeddings: 10000, embeddingDim: 100 });
    const w = initDenseTable(t, 9);
    let beyond = 0;
    for (const v of w) if (Math.abs(v) > 3) beyond++;
    expect(beyond / w.length).toBeGreaterThan(0.0022);
    expect(beyond / w.length).toBeLessThan(0.0032);
  });

  it('supports zeros and constant', () => {
    expect(initDenseTable(tableSpec({ name: 'z', numEmbeddings: 3, embeddingDim: 2, init: { kind: 'zeros' } }), 0)).toEqual(
      new Float32Array(6),
    );
    expect([
      ...initDenseTable(tableSpec({ name: 'c', numEmbeddings: 2, embeddingDim: 2, init: { kind: 'constant', value: 0.5 } }), 0),
    ]).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});
