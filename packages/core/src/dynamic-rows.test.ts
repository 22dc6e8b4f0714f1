import { describe, expect, it } from 'vitest';
import {
  AdmissionFilter,
  capacityRowsOf,
  chooseEvictions,
  dynamicRowBytes,
  parseAdmissionSpec,
  parseEvictionSpec,
} from './dynamic-rows.js';
import { tableSpec } from './table-spec.js';

describe('admission and eviction settings', () => {
  it('are checked field by field, named', () => {
    expect(parseAdmissionSpec({ kind: 'count', minCount: 2 }, 'a')).toEqual({
      kind: 'count',
      minCount: 2,
      width: 65536,
      depth: 4,
      default: 'zeros',
    });
    expect(() => parseAdmissionSpec({ kind: 'count' }, 'tables.t.admission')).toThrow(/tables\.t\.admission\.minCount/);
    expect(() => parseAdmissionSpec({ kind: 'probability', p: 0 }, 'x')).toThrow(/x\.p/);
    expect(() => parseAdmissionSpec({ kind: 'count', minCount: 2, depth: 40 }, 'x')).toThrow(/x\.depth/);
    expect(() => parseAdmissionSpec({ kind: 'sometimes' }, 'x')).toThrow(/x\.kind/);
    expect(() => parseEvictionSpec({}, 'e')).toThrow(/e: needs capacityRows, capacityBytes, ttlSteps or a combination/);
    expect(() => parseEvictionSpec({ capacityBytes: -1 }, 'e')).toThrow(/e\.capacityBytes/);
    expect(() => parseEvictionSpec({ ttlSteps: 0 }, 'e')).toThrow(/e\.ttlSteps/);
    expect(() => tableSpec({ name: 'd', numEmbeddings: 10, embeddingDim: 2, eviction: { ttlSteps: 3 } })).toThrow(
      /eviction: applies to hashed tables only/,
    );
  });
});

describe('AdmissionFilter', () => {
  it('count: an id is admitted on its minCount-th step, each id counted apart when the sketch is wide', () => {
    const f = new AdmissionFilter({ kind: 'count', minCount: 3, width: 4096, depth: 4, default: 'zeros' }, 1, 't');
    expect([f.offer(7, 1, 0), f.offer(7, 1, 1), f.offer(7, 1, 2)]).toEqual([false, false, true]);
    expect(f.offer(8, 1, 3)).toBe(false);
  });

  it('count: collisions only make an id admitted early, never late', () => {
    const f = new AdmissionFilter({ kind: 'count', minCount: 2, width: 1, depth: 1, default: 'zeros' }, 1, 't');
    expect(f.offer(1, 0, 0)).toBe(false);
    expect(f.offer(2, 0, 0)).toBe(true); // one counter for every id
  });

  it('probability: about p of the offers, the same ones every time', () => {
    const spec = { kind: 'probability', p: 0.25, default: 'zeros' } as const;
    const a = new AdmissionFilter(spec, 5, 't');
    const b = new AdmissionFilter(spec, 5, 't');
    let yes = 0;
    for (let i = 0; i < 20000; i++) {
      const got = a.offer(i, i >>> 3, i % 7);
      expect(b.offer(i, i >>> 3, i % 7)).toBe(got);
      yes += Number(got);
    }
    expect(Math.abs(yes / 20000 - 0.25)).toBeLessThan(0.02);
  });
});

describe('chooseEvictions', () => {
  it('takes rows idle for ttlSteps, then the least recently updated (smaller id first) past capacity', () => {
    const last = [5, 9, 2, 9, 7];
    const lo = [10, 11, 12, 3, 14];
    const hi = [0, 0, 0, 0, 0];
    expect(chooseEvictions({ ttlSteps: 7, capacityRows: null }, 9, 5, last, lo, hi)).toEqual([2]);
    expect(chooseEvictions({ ttlSteps: null, capacityRows: 2 }, 9, 5, last, lo, hi).sort()).toEqual([0, 2, 4]);
    expect(chooseEvictions({ ttlSteps: null, capacityRows: 1 }, 9, 5, last, lo, hi).sort()).toEqual([0, 2, 3, 4]); // ids 3 and 11 tie at step 9: 3 goes
  });
});

describe('capacityRowsOf', () => {
  it('is the smaller of capacityRows and capacityBytes over the cost of a row', () => {
    expect(dynamicRowBytes(32, 64)).toBe(4 * 96 + 37);
    expect(capacityRowsOf({ capacityRows: null, capacityBytes: 10 * 421 + 420, ttlSteps: null }, 32, 64)).toBe(10);
    expect(capacityRowsOf({ capacityRows: 7, capacityBytes: 10 * 421, ttlSteps: null }, 32, 64)).toBe(7);
    expect(capacityRowsOf({ capacityRows: null, capacityBytes: null, ttlSteps: 3 }, 32, 64)).toBeNull();
  });
});

describe('chooseEvictions at scale', () => {
  it('picks the same rows as a full sort (oldest first, ties by id), by counting steps', () => {
    let x = 7;
    const rnd = (m: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % m;
    };
    for (const [n, span] of [
      [5000, 40],
      [300, 100000],
    ]) {
      const last = Array.from({ length: n }, () => 1000 + rnd(span));
      const lo = Array.from({ length: n }, () => rnd(2 ** 31));
      const hi = Array.from({ length: n }, () => rnd(4));
      const capacity = Math.floor(n / 3);
      const want = Array.from({ length: n }, (_, k) => k)
        .sort((a, b) => last[a] - last[b] || hi[a] - hi[b] || lo[a] - lo[b])
        .slice(0, n - capacity)
        .sort((a, b) => a - b);
      const got = chooseEvictions({ ttlSteps: null, capacityRows: capacity }, 2000000, n, last, lo, hi).sort((a, b) => a - b);
      expect(got).toEqual(want);
    }
  });
});
