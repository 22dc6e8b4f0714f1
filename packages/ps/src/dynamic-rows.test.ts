import { dynamicRowBytes, parseSparseOptimizerConfig, rowInitializer, tableSpec } from '@rowshard/core';
import { HashedLocalTable } from '@rowshard/nn';
import { describe, expect, it } from 'vitest';
import { PsService } from './ps-service.js';

const DIM = 3;
const optimizer = parseSparseOptimizerConfig({ kind: 'adagrad', lr: 0.5 });
const spec = (extra: Record<string, unknown>) =>
  tableSpec({ name: 'h', kind: 'hashed', numEmbeddings: 100, embeddingDim: DIM, ...extra });
const shard = (extra: Record<string, unknown>) =>
  new PsService({ shard: 0, numShards: 1, seed: 2, tables: [{ spec: spec(extra), optimizer }] });

const id = (k: number) => BigUint64Array.of(BigInt.asUintN(64, 0x9e3779b97f4a7c15n * BigInt(k)));
const ids = (...ks: number[]) => BigUint64Array.from(ks, (k) => id(k)[0]);
const initOf = (k: number, extra: Record<string, unknown> = {}) => {
  const out = new Float32Array(DIM);
  const v = id(k)[0];
  rowInitializer(spec(extra), 2).fill(Number(v & 0xffffffffn), Number(v >> 32n), out, 0);
  return out;
};
const grads = (n: number) => new Float32Array(n * DIM).fill(0.25);

/** One BSP step on a shard: the push of `pushed` ids, applied as step `step`. */
const step = (s: PsService, step: number, pushed: BigUint64Array) =>
  s.pushStep(new Map([['h', { parts: [{ ids: pushed, grads: grads(pushed.length) }], lr: 0.5, step: step + 1 }]]), step);

describe('a hashed table with admission (count, N = 2)', () => {
  const admission = { admission: { kind: 'count', minCount: 2, width: 1024, depth: 3 } };

  it('an id reads zeros and takes no update until its second step with a gradient; then it starts from its init', () => {
    const s = shard(admission);
    const pull = () => s.pull([{ table: 'h', ids: ids(1) }])[0];
    expect(pull()).toEqual(new Float32Array(DIM));
    step(s, 0, ids(1));
    expect(pull()).toEqual(new Float32Array(DIM)); // counted once: not admitted
    expect(s.stats().tables.h).toMatchObject({ rowsMaterialised: 0, dynamic: { admitted: 0, rejected: 1, evicted: 0 } });
    step(s, 1, ids(1));
    // Admitted at the end of step 1: its init, step 1's gradient (taken at zeros) not applied.
    expect(pull()).toEqual(initOf(1));
    step(s, 2, ids(1));
    expect(pull()).not.toEqual(initOf(1));
    expect(s.stats().tables.h).toMatchObject({ rowsMaterialised: 1, dynamic: { admitted: 1, rejected: 1, evicted: 0 } });
  });

  it("'unknown': a not-admitted id reads the shared unknown row", () => {
    const s = shard({ admission: { kind: 'count', minCount: 2, default: 'unknown' } });
    const [a, b] = s.pull([{ table: 'h', ids: ids(1, 2) }])[0].reduce<number[][]>((acc, v, i) => {
      (acc[Math.floor(i / DIM)] ??= []).push(v);
      return acc;
    }, []);
    expect(a).toEqual(b);
    expect(a.some((v) => v !== 0)).toBe(true);
  });
});

describe('a hashed table with eviction', () => {
  it('ttl: a row not updated for ttlSteps steps is evicted at a step end, and comes back from its init', () => {
    const s = shard({ eviction: { ttlSteps: 2 } });
    step(s, 0, ids(1, 2));
    step(s, 1, ids(2));
    expect(s.stats().tables.h.rowsMaterialised).toBe(2);
    step(s, 2, ids(2)); // id 1 last updated at step 0: 2 - 0 >= 2
    expect(s.stats().tables.h).toMatchObject({ rowsMaterialised: 1, dynamic: { evicted: 1 } });
    expect(s.pull([{ table: 'h', ids: ids(1) }])[0]).toEqual(initOf(1));
  });

  it('capacity: past capacityRows the least recently updated rows go, and their memory is reused', () => {
    const s = shard({ eviction: { capacityRows: 4 } });
    for (let t = 0; t < 50; t++) step(s, t, ids(3 * t, 3 * t + 1, 3 * t + 2));
    const h = s.stats().tables.h;
    expect(h.rowsMaterialised).toBe(4);
    expect(h.dynamic?.evicted).toBe(150 - 4);
    const bytesAfter50 = h.bytesUsed;
    for (let t = 50; t < 500; t++) step(s, t, ids(3 * t, 3 * t + 1, 3 * t + 2));
    expect(s.stats().tables.h.bytesUsed).toBe(bytesAfter50); // freed slots reused: nothing grows
  });
});

describe('a hashed table with a capacity in bytes', () => {
  it('keeps the rows that many bytes allow (dynamicRowBytes each)', () => {
    // Adagrad: dim state floats per row.
    const s = shard({ eviction: { capacityBytes: 5 * dynamicRowBytes(DIM, DIM) + 1 } });
    for (let t = 0; t < 10; t++) step(s, t, ids(2 * t, 2 * t + 1));
    expect(s.stats().tables.h.rowsMaterialised).toBe(5);
  });
});

describe('the single-process hashed table follows a shard exactly', () => {
  it.each([
    [
      'count admission, capacity and ttl',
      { admission: { kind: 'count', minCount: 2, width: 64, depth: 2 }, eviction: { capacityRows: 20, ttlSteps: 5 } },
    ],
    ['probability admission', { admission: { kind: 'probability', p: 0.3 } }],
  ])('%s: the same rows, bit for bit, after 40 steps of a skewed stream', (_name, extra) => {
    const s = shard(extra);
    const local = new HashedLocalTable(spec(extra), 2, optimizer, 1);
    let x = 1;
    for (let t = 0; t < 40; t++) {
      const ks = new Set<number>();
      for (let i = 0; i < 12; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        ks.add((x >>> 8) % (i < 6 ? 10 : 200));
      }
      const pushed = ids(...ks);
      local.clock = t;
      local.applyGradient({ ids: pushed, rows: grads(pushed.length) }, { lr: 0.5, step: t + 1 });
      local.endStep(t);
      step(s, t, pushed);
    }
    const held = local.ids();
    expect(held.length).toBeGreaterThan(3);
    expect(s.stats().tables.h.rowsMaterialised).toBe(held.length);
    expect(s.pull([{ table: 'h', ids: held }])[0]).toEqual(local.read(held));
    expect(s.stats().tables.h.dynamic).toEqual(local.counts);
  });
});

describe('a refused request', () => {
  it('counts nothing toward admission and stamps no row', () => {
    const s = new PsService({
      shard: 0,
      numShards: 1,
      seed: 2,
      tables: [
        { spec: spec({ admission: { kind: 'count', minCount: 1 } }), optimizer },
        {
          spec: tableSpec({ name: 'd', numEmbeddings: 4, embeddingDim: DIM }),
          optimizer: parseSparseOptimizerConfig({ kind: 'sgd', lr: 10 }),
        },
      ],
    });
    const parts = new Map([
      ['h', { parts: [{ ids: ids(1), grads: grads(1) }], lr: 0.5, step: 1 }],
      ['d', { parts: [{ ids: Uint32Array.of(0), grads: new Float32Array(DIM).fill(3e38) }], lr: 10, step: 1 }],
    ]);
    expect(() => s.pushStep(parts, 0)).toThrow(/non-finite/);
    expect(s.stats().tables.h).toMatchObject({ rowsMaterialised: 0, dynamic: { admitted: 0, rejected: 0 } });
  });
});
