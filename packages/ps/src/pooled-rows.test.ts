import { ErrorCodes, parseSparseOptimizerConfig, tableSpec } from '@rowshard/core';
import { idTreeLeaves, jsKernels, KernelMemoryFull } from '@rowshard/kernels';
import { describe, expect, it } from 'vitest';
import { PsService } from './ps-service.js';

const DIM = 7; // a SIMD part and a scalar tail

/** Shard `shard` of `numShards`: a dense Adagrad table and a hashed one. */
function service(shard = 0, numShards = 1): PsService {
  return new PsService({
    shard,
    numShards,
    seed: 9,
    tables: [
      {
        spec: tableSpec({ name: 'words', numEmbeddings: 40, embeddingDim: DIM }),
        optimizer: parseSparseOptimizerConfig({ kind: 'adagrad', lr: 0.5 }),
      },
      {
        spec: tableSpec({ name: 'hashed', kind: 'hashed', numEmbeddings: 1000, embeddingDim: DIM }),
        optimizer: parseSparseOptimizerConfig({ kind: 'sgd', lr: 0.5 }),
      },
    ],
  });
}

// Three bags over eight positions, ids repeating within and across bags; bag 1 is empty.
const ids = Uint32Array.of(3, 7, 3, 12, 7, 7, 30, 3);
const bags = Int32Array.of(0, 0, 0, 2, 2, 2, 3, 3);
const bagCount = 4;

describe('pooled parts on a shard (EmbeddingBag sums, TorchRec-style)', () => {
  it("answer each bag's float32 sum of its rows, in position order", () => {
    const s = service();
    const [rows] = s.pull([{ table: 'words', ids }]);
    const [sums] = s.pull([{ table: 'words', ids, bags, bagCount }]);
    const want = new Float32Array(bagCount * DIM);
    for (let p = 0; p < ids.length; p++)
      for (let k = 0; k < DIM; k++) want[bags[p] * DIM + k] = Math.fround(want[bags[p] * DIM + k] + rows[p * DIM + k]);
    expect(sums).toEqual(want);
    expect([...sums.subarray(DIM, 2 * DIM)]).toEqual(new Array(DIM).fill(0)); // the empty bag
  });

  it("answer each bag's sum in the id tree's order where the part asks (BSP), in a memory with no room for the adds' blocks too", () => {
    // Ids 3, 67 and 131 share leaf 3 (mod 16); 7, 12 and 30 have leaves of their own.
    const treeIds = Uint32Array.of(3, 7, 67, 12, 131, 7, 30, 3, 12, 67);
    const treeBags = Int32Array.of(0, 0, 0, 0, 0, 2, 2, 2, 2, 0);
    const s = new PsService({
      shard: 0,
      numShards: 1,
      seed: 9,
      tables: [
        {
          spec: tableSpec({ name: 'words', numEmbeddings: 200, embeddingDim: DIM }),
          optimizer: parseSparseOptimizerConfig({ kind: 'sgd', lr: 0.5 }),
        },
      ],
    });
    // Rows whose sums depend on the order: scaled by powers of ten.
    const all = Uint32Array.from({ length: 200 }, (_, i) => i);
    s.load([
      { table: 'words', ids: all, rows: Float32Array.from({ length: 200 * DIM }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4)) },
    ]);
    const [rows] = s.pull([{ table: 'words', ids: treeIds }]);
    // The kernels' sums of the same rows, each bag's positions together (bag 0's last comes after bag 2's).
    const grouped = Int32Array.of(0, 1, 2, 3, 4, 9, 5, 6, 7, 8);
    const leaves = idTreeLeaves(
      Float64Array.from(grouped, (p) => treeIds[p]),
      10,
      new Int32Array(10),
    );
    const want = new Float32Array(3 * DIM);
    jsKernels.idTreeBagSums(Int32Array.of(0, 6, 6, 10), grouped, leaves, rows, want, DIM);
    const part = { table: 'words', ids: treeIds, bags: treeBags, bagCount: 3, idTree: true };
    const [sums] = s.pull([part]);
    expect(sums).toEqual(want);
    const [inPositionOrder] = s.pull([{ ...part, idTree: undefined }]);
    expect(inPositionOrder).not.toEqual(want);
    const alloc = s.memory.alloc;
    s.memory.alloc = (bytes: number) => {
      throw new KernelMemoryFull(bytes);
    };
    try {
      expect(s.pull([part])[0]).toEqual(want);
      expect(s.pull([{ ...part, idTree: undefined }])[0]).toEqual(inPositionOrder);
    } finally {
      s.memory.alloc = alloc;
    }
  });

  it("take each bag's gradient as the push of its rows' sums would: the same bits", () => {
    const grads = Float32Array.from({ length: bagCount * DIM }, (_, i) => Math.cos(i) / 3);
    const pooled = service();
    pooled.push(pooled.rowsOfPush([{ table: 'words', ids, bags, bagCount, grads, lr: 0.5, step: 1 }]));
    // What a worker's bag backward makes: each distinct id's sum of its positions' bag gradients.
    const distinct = [...new Set(ids)];
    const rowGrads = new Float32Array(distinct.length * DIM);
    ids.forEach((id, p) => {
      const d = distinct.indexOf(id);
      for (let k = 0; k < DIM; k++) rowGrads[d * DIM + k] = Math.fround(rowGrads[d * DIM + k] + grads[bags[p] * DIM + k]);
    });
    const byRows = service();
    byRows.push([{ table: 'words', ids: Uint32Array.from(distinct), grads: rowGrads, lr: 0.5, step: 1 }]);
    // And in a memory with no room for the adds' blocks: the sums in JavaScript, the same bits.
    const full = service();
    const alloc = full.memory.alloc;
    full.memory.alloc = (bytes: number) => {
      throw new KernelMemoryFull(bytes);
    };
    const rowsOfFull = full.rowsOfPush([{ table: 'words', ids, bags, bagCount, grads, lr: 0.5, step: 1 }]);
    full.memory.alloc = alloc;
    full.push(rowsOfFull);
    const all = Uint32Array.from({ length: 40 }, (_, i) => i);
    expect(pooled.pull([{ table: 'words', ids: all }])[0]).toEqual(byRows.pull([{ table: 'words', ids: all }])[0]);
    expect(full.pull([{ table: 'words', ids: all }])[0]).toEqual(byRows.pull([{ table: 'words', ids: all }])[0]);
    expect(pooled.stats().rowsPushed).toBe(distinct.length);
  });

  it("make BSP steps' rows in pooled buffers, given back after each step, with the bits of the ranks' pushes of their rows", () => {
    // Rank 1 shares rows 3 and 7 with rank 0 and adds row 9.
    const rank0 = { table: 'words', ids, bags, bagCount, lr: 0.5 };
    const rank1 = {
      table: 'words',
      ids: Uint32Array.of(9, 3, 7, 3, 9),
      bags: Int32Array.of(0, 0, 1, 1, 1),
      bagCount: 2,
      lr: 0.5,
    };
    // What each rank's bag backward would push: each distinct id's sum, in position order, of its positions' bag gradients.
    const rowsOf = (part: typeof rank0, grads: Float32Array) => {
      const distinct = [...new Set(part.ids)];
      const sums = new Float32Array(distinct.length * DIM);
      part.ids.forEach((id, p) => {
        const d = distinct.indexOf(id);
        for (let k = 0; k < DIM; k++) sums[d * DIM + k] += grads[part.bags[p] * DIM + k];
      });
      return { table: part.table, ids: Uint32Array.from(distinct), grads: sums, lr: part.lr };
    };
    const all = Uint32Array.from({ length: 40 }, (_, i) => i);
    const pooled = service();
    const byRows = service();
    for (const step of [1, 2, 3]) {
      const g0 = Float32Array.from({ length: bagCount * DIM }, (_, i) => Math.cos(i * step) / 3);
      const g1 = Float32Array.from({ length: 2 * DIM }, (_, i) => Math.sin(i + step) * 1e3);
      const parts = pooled.rowsOfPush([
        { ...rank0, grads: g0, step },
        { ...rank1, grads: g1, step },
      ]);
      pooled.pushStep(new Map([['words', { parts, lr: 0.5, step }]]));
      const rows = [
        { ...rowsOf(rank0, g0), step },
        { ...rowsOf(rank1, g1), step },
      ];
      byRows.pushStep(new Map([['words', { parts: rows, lr: 0.5, step }]]));
      expect(pooled.pull([{ table: 'words', ids: all }])[0]).toEqual(byRows.pull([{ table: 'words', ids: all }])[0]);
    }
    expect(pooled.stats().rowsPushed).toBe(byRows.stats().rowsPushed);
  });

  it('renormalise each distinct row once under max_norm, as a pull of the distinct ids does', () => {
    const normed = () =>
      new PsService({
        shard: 0,
        numShards: 1,
        seed: 2,
        tables: [
          { spec: tableSpec({ name: 'n', numEmbeddings: 40, embeddingDim: DIM, maxNorm: 0.01, normType: 1 }), optimizer: null },
        ],
      });
    // Every row twice, each pair a bag.
    const twice = Uint32Array.from({ length: 80 }, (_, p) => p >> 1);
    const pairs = Int32Array.from({ length: 80 }, (_, p) => p >> 1);
    const pooled = normed();
    const [sums] = pooled.pull([{ table: 'n', ids: twice, bags: pairs, bagCount: 40 }]);
    const byRows = normed();
    const [rows] = byRows.pull([{ table: 'n', ids: Uint32Array.from({ length: 40 }, (_, i) => i) }]);
    const want = new Float32Array(40 * DIM);
    for (let i = 0; i < 40 * DIM; i++) want[i] = Math.fround(rows[i] + rows[i]);
    expect(sums).toEqual(want);
  });

  it('apply a pooled part as it came (ASP, SSP) with the bits of the push of its rows (BSP), padding left out', () => {
    const grads = Float32Array.from({ length: bagCount * DIM }, (_, i) => Math.sin(i) / 2);
    const padded = () =>
      new PsService({
        shard: 0,
        numShards: 1,
        seed: 9,
        tables: [
          {
            spec: tableSpec({ name: 'words', numEmbeddings: 40, embeddingDim: DIM, paddingIdx: 7 }),
            optimizer: parseSparseOptimizerConfig({ kind: 'adagrad', lr: 0.5 }),
          },
        ],
      });
    const all = Uint32Array.from({ length: 40 }, (_, i) => i);
    for (const make of [service, padded]) {
      const part = { table: 'words', ids, bags, bagCount, grads, lr: 0.5, step: 1 };
      const direct = make();
      const viaRows = make();
      expect(direct.push([part])).toBe(viaRows.push(viaRows.rowsOfPush([part])));
      expect(direct.pull([{ table: 'words', ids: all }])[0]).toEqual(viaRows.pull([{ table: 'words', ids: all }])[0]);
      // Twice more, with a plain part beside it in the same request: Adagrad's state as well.
      const plain = { table: 'words', ids: Uint32Array.of(12, 3), grads: new Float32Array(2 * DIM).fill(0.25), lr: 0.5, step: 2 };
      direct.push([{ ...part, step: 2 }, plain]);
      viaRows.push([...viaRows.rowsOfPush([{ ...part, step: 2 }]), plain]);
      expect(direct.pull([{ table: 'words', ids: all }])[0]).toEqual(viaRows.pull([{ table: 'words', ids: all }])[0]);
    }
    const distinct = new Set(ids).size;
    const s = service();
    s.push([{ table: 'words', ids, bags, bagCount, grads, lr: 0.5, step: 1 }]);
    expect(s.stats().rowsPushed).toBe(distinct);
  });

  it('refuse a part that is not theirs to pool, whole, before anything is applied', () => {
    const s = service(1, 2);
    const before = s.pull([{ table: 'words', ids: Uint32Array.of(3, 7) }])[0];
    const grads = new Float32Array(bagCount * DIM).fill(0.1);
    // Row 12 belongs to shard 0.
    expect(() => s.rowsOfPush([{ table: 'words', ids, bags, bagCount, grads, lr: 0.5, step: 1 }])).toThrow(
      expect.objectContaining({ code: ErrorCodes.WRONG_SHARD }),
    );
    const odd = Uint32Array.of(3, 7, 3);
    const oddBags = Int32Array.of(0, 1, 1);
    expect(() => s.rowsOfPush([{ table: 'words', ids: odd, bags: oddBags, bagCount: 2, grads, lr: 0.5, step: 1 }])).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_SHAPE, message: expect.stringContaining('2 bags × dim 7 need 14') }),
    );
    const nan = new Float32Array(bagCount * DIM);
    nan[2 * DIM + 1] = Number.NaN;
    const mine = Uint32Array.of(3, 7, 3);
    const mineBags = Int32Array.of(0, 2, 3);
    expect(() => s.rowsOfPush([{ table: 'words', ids: mine, bags: mineBags, bagCount, grads: nan, lr: 0.5, step: 1 }])).toThrow(
      expect.objectContaining({
        code: ErrorCodes.BAD_GRADIENT,
        message: expect.stringContaining('the gradient of bag 2 holds NaN'),
      }),
    );
    // Row 3 is in bags 0 and 3: two finite halves of an overflow.
    const huge = new Float32Array(bagCount * DIM);
    huge[0] = 3e38;
    huge[3 * DIM] = 3e38;
    expect(() => s.rowsOfPush([{ table: 'words', ids: mine, bags: mineBags, bagCount, grads: huge, lr: 0.5, step: 1 }])).toThrow(
      expect.objectContaining({
        code: ErrorCodes.BAD_GRADIENT,
        message: expect.stringContaining("row 3's gradient, the sum of its positions' bag gradients, holds Infinity"),
      }),
    );
    // The same refusals when the part is applied as it came, a plain part before it put back.
    const plain = { table: 'words', ids: Uint32Array.of(3), grads: new Float32Array(DIM).fill(0.5), lr: 0.5, step: 1 };
    const part = { table: 'words', ids: mine, bags: mineBags, bagCount, lr: 0.5, step: 1 };
    expect(() => s.push([plain, { ...part, grads: nan }])).toThrow(
      expect.objectContaining({ message: expect.stringContaining('bag 2 holds NaN') }),
    );
    expect(() => s.push([plain, { ...part, grads: huge }])).toThrow(
      expect.objectContaining({
        code: ErrorCodes.BAD_GRADIENT,
        message: expect.stringContaining("row 3's gradient, the sum of its positions' bag gradients, holds Infinity"),
      }),
    );
    expect(() => s.push([plain, { ...part, ids, bags, grads }])).toThrow(
      expect.objectContaining({ code: ErrorCodes.WRONG_SHARD }),
    );
    expect(() => s.checkPull([{ table: 'hashed', ids: BigUint64Array.of(5n), bags: Int32Array.of(0), bagCount: 1 }])).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_REQUEST, message: expect.stringContaining("'hashed' is hashed") }),
    );
    expect(s.pull([{ table: 'words', ids: Uint32Array.of(3, 7) }])[0]).toEqual(before);
  });
});
