import { parseSparseOptimizerConfig, sparseRowOptimizer } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { jsKernels } from './js-kernels.js';
import { KernelMemory } from './kernel-memory.js';
import type { BagMode, Kernels } from './kernels.js';
import { optimizerRows } from './optimizer-rows.js';
import { StepArena } from './step-arena.js';
import { WasmKernels } from './wasm-kernels.js';

/** Deterministic inputs: a small LCG, values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 2e-6): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  expect(worst).toBeLessThan(tol);
}

/**
 * Runs `body` with the WebAssembly kernels twice, once on arrays in the arena (in place) and
 * once on ordinary arrays (staged), and once with the JavaScript kernels; the three must agree.
 */
function agree(body: (k: Kernels, f32: (n: number, seed?: number) => Float32Array) => Float32Array[]): void {
  const arena = new StepArena(1 << 20);
  const wasm = new WasmKernels(arena);
  const inArena = (n: number, seed?: number) => {
    const v = arena.f32(n);
    if (seed !== undefined) v.set(values(n, seed));
    return v;
  };
  const plain = (n: number, seed?: number) => (seed === undefined ? new Float32Array(n) : values(n, seed));
  arena.beginStep();
  const inPlace = body(wasm, inArena).map((a) => Float32Array.from(a));
  const staged = body(wasm, plain);
  const reference = body(jsKernels, plain);
  for (let i = 0; i < reference.length; i++) {
    expectClose(inPlace[i], reference[i]);
    expectClose(staged[i], reference[i]);
  }
}

describe('WebAssembly kernels agree with the JavaScript reference', () => {
  it.each([
    [7, 64, 64],
    // Blocks of sixteen columns held in registers, then the rest: both paths in one call.
    [7, 70, 70],
    [3, 80, 17],
    [5, 13, 6],
    [1, 3, 2],
  ])('linear forward and backward, rows %i, in %i, out %i', (rows, inF, outF) => {
    agree((k, f32) => {
      const x = f32(rows * inF, 1);
      const w = f32(outF * inF, 2);
      const b = f32(outF, 3);
      const out = f32(rows * outF);
      k.linearForward(x, w, b, out, rows, inF, outF);
      const g = f32(rows * outF, 4);
      const gx = f32(rows * inF, 5);
      const gw = f32(outF * inF, 6);
      const gb = f32(outF, 7);
      k.linearGradInput(g, w, gx, rows, inF, outF);
      k.linearGradWeight(g, x, gw, gb, rows, inF, outF);
      return [out, gx, gw, gb];
    });
  });

  it('relu, dropout masks and softmax cross-entropy', () => {
    agree((k, f32) => {
      const x = f32(37, 1);
      const out = f32(37);
      k.reluForward(x, out);
      const gx = f32(37, 2);
      k.reluBackward(out, f32(37, 3), gx);
      const scale = f32(37, 4);
      const dropped = f32(37);
      k.mul(x, scale, dropped);
      const acc = f32(37, 5);
      k.mulAdd(x, scale, acc);
      const n = 9;
      const c = 4;
      const logits = f32(n * c, 6);
      const targets = Int32Array.from({ length: n }, (_, i) => (i * 3) % c);
      const probs = f32(n * c);
      const loss = k.softmaxCrossEntropy(logits, targets, probs, n, c);
      const gl = f32(n * c, 7);
      k.softmaxCrossEntropyBackward(probs, targets, 0.5, gl, n, c);
      return [out, gx, dropped, acc, probs, gl, Float32Array.of(loss)];
    });
  });

  // dim 70: sixteen floats at a time in registers, then vectors, then single lanes.
  it.each((['sum', 'mean', 'max'] as BagMode[]).flatMap((mode) => [6, 70].map((dim) => [mode, dim] as const)))(
    'EmbeddingBag %s forward and backward (dim %i), empty bags included',
    (mode, dim) => {
      const offsets = Int32Array.of(0, 3, 3, 7, 8);
      const rowIndex = Int32Array.of(2, 0, 2, 1, 4, 4, 3, 0);
      agree((k, f32) => {
        const rows = f32(5 * dim, 1);
        const perSample = mode === 'sum' ? f32(8, 2) : null;
        const out = f32(4 * dim);
        const argmax = mode === 'max' ? new Int32Array(4 * dim) : null;
        k.bagForward(mode, offsets, rowIndex, perSample, rows, out, argmax, dim);
        const gradRows = f32(5 * dim);
        k.bagBackward(mode, offsets, rowIndex, perSample, f32(4 * dim, 3), gradRows, argmax, dim);
        return [out, gradRows];
      });
    },
  );

  it('gather and scatter-add of rows, duplicates summed in order', () => {
    agree((k, f32) => {
      const src = f32(6 * 5, 1);
      const index = Int32Array.of(4, 0, 4, 2);
      const out = f32(4 * 5);
      k.gatherRows(src, index, out, 5);
      const dst = f32(6 * 5, 2);
      k.scatterAddRows(out, index, dst, 5, 0.25);
      return [out, dst];
    });
  });

  it('addRowsAt adds rows by byte offsets in order: float32 sums, each destination in position order', () => {
    const dim = 7; // a SIMD part and a scalar tail
    const mem = new KernelMemory();
    const src = mem.alloc(4 * 5 * dim);
    const dst = mem.alloc(4 * 3 * dim);
    const offs = mem.alloc(4 * 2 * 6);
    const rows = Float32Array.from({ length: 5 * dim }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    mem.f32(src, 5 * dim).set(rows);
    // Six positions: source rows 4, 0, 4, 2, 1, 3 into destination rows 2, 0, 2, 2, 0, 1.
    const from = [4, 0, 4, 2, 1, 3];
    const into = [2, 0, 2, 2, 0, 1];
    mem.u32(offs, 12).set([...from.map((r) => src + 4 * r * dim), ...into.map((r) => dst + 4 * r * dim)]);
    mem.exports.addRowsAt(6, dim, offs, offs + 24);
    const want = new Float32Array(3 * dim);
    from.forEach((r, p) => {
      for (let k = 0; k < dim; k++) want[into[p] * dim + k] = Math.fround(want[into[p] * dim + k] + rows[r * dim + k]);
    });
    expect(mem.f32(dst, 3 * dim)).toEqual(want);
  });

  it('optimizer kernels save each row before changing it and name the first row left non-finite', () => {
    const dim = 6; // a SIMD part and a scalar tail
    for (const kind of ['sgd', 'adagrad', 'sparse_adam', 'rowwise_adagrad'] as const) {
      const config = parseSparseOptimizerConfig({ kind, lr: 10 });
      const stateFloats = sparseRowOptimizer(config, dim).stateFloatsPerRow;
      const width = dim + stateFloats;
      const mem = new KernelMemory();
      const rows = mem.alloc(4 * 4 * width); // 4 rows, weights then state, as a shard keeps them
      const offs = mem.alloc(4 * 6);
      const grads = mem.alloc(4 * 3 * dim);
      const save = mem.alloc(4 * 3 * width);
      const original = Float32Array.from({ length: 4 * width }, (_, i) => (i % width < dim ? Math.sin(i) : 0.5));
      mem.f32(rows, 4 * width).set(original);
      // Rows 3, 0, 2 in that order: weights, then state.
      const w = [3, 0, 2].map((r) => rows + 4 * r * width);
      mem.u32(offs, 6).set([...w, ...w.map((o) => o + 4 * dim)]);
      const g = mem.f32(grads, 3 * dim);
      g.fill(0.25);
      g[dim + 5] = 3e38; // row 0's gradient, in the scalar tail: w − 10·g overflows (or g² does)
      const first = optimizerRows(mem.exports, config, 3, dim, offs, offs + 12, grads, { lr: 10, step: 1 }, save);
      expect([kind, first]).toEqual([kind, 1]);
      const saved = mem.f32(save, 3 * width);
      [3, 0, 2].forEach((r, i) => {
        expect(saved.subarray(i * width, (i + 1) * width)).toEqual(original.subarray(r * width, (r + 1) * width));
      });
      // Put back, the rows are as they were.
      mem.u32(offs, 3).set(w);
      mem.exports.scatterRows(3, width, save, offs);
      expect(mem.f32(rows, 4 * width)).toEqual(original);
      g[dim + 5] = 0.25;
      expect(optimizerRows(mem.exports, config, 3, dim, offs, offs + 12, grads, { lr: 10, step: 1 })).toBe(-1);
    }
  });

  it('dropout masks are the same bits from both implementations (Philox, counter-based)', () => {
    const arena = new StepArena(1 << 20);
    arena.beginStep();
    const wasm = new WasmKernels(arena);
    for (const [n, p, counter] of [
      [1027, 0.1, 7],
      [5, 0.5, 2 ** 40 + 3],
      [64, 0.999, 0],
    ] as const) {
      const key = { k0: 0x12345678, k1: 0x9abcdef0 };
      const a = arena.f32(n);
      const b = new Float32Array(n);
      wasm.dropoutMask(a, key, counter, p);
      jsKernels.dropoutMask(b, key, counter, p);
      expect(a).toEqual(b);
      const kept = a.filter((v) => v > 0).length / n;
      if (n > 1000) expect(Math.abs(kept - (1 - p))).toBeLessThan(0.03);
    }
  });

  it('a step that outgrows its arena gets ordinary arrays, and the next step a larger arena', () => {
    const arena = new StepArena(1 << 20);
    arena.beginStep();
    const big = arena.f32(1 << 19); // 2 MiB: more than the region
    expect(arena.holds(big)).toBe(false);
    arena.beginStep();
    expect(arena.regionBytes).toBeGreaterThanOrEqual(2 << 20);
    expect(arena.holds(arena.f32(1 << 19))).toBe(true);
  });
});

describe("sparse optimizer row kernels agree with core's float64 kernels", () => {
  const dim = 10;
  const n = 6;
  it.each([
    ['sgd', { kind: 'sgd', lr: 0.1, weightDecay: 0.01 }],
    ['adagrad', { kind: 'adagrad', lr: 0.1, lr_decay: 0.01, weight_decay: 0.001, initial_accumulator_value: 0.1 }],
    ['sparse_adam', { kind: 'sparse_adam', lr: 0.01 }],
    ['rowwise_adagrad', { kind: 'rowwise_adagrad', lr: 0.1 }],
  ])('%s over three steps', (_kind, raw) => {
    const config = parseSparseOptimizerConfig(raw);
    const opt = sparseRowOptimizer(config, dim);
    const mem = new KernelMemory();
    const k = mem.exports;
    const stride = opt.stateFloatsPerRow;
    // Rows scattered in the memory, as pages of a shard hold them; the reference in plain arrays.
    const wAt = Array.from({ length: n }, () => mem.alloc(dim * 4));
    const sAt = Array.from({ length: n }, () => mem.alloc(Math.max(1, stride) * 4));
    const refW = values(n * dim, 11);
    const refS = new Float32Array(n * Math.max(1, stride));
    for (let i = 0; i < n; i++) opt.initState(refS, i * stride);
    const offs = mem.alloc(8 * n);
    const grads = mem.alloc(4 * n * dim);
    for (let i = 0; i < n; i++) {
      mem.f32(wAt[i], dim).set(refW.subarray(i * dim, (i + 1) * dim));
      if (stride > 0) mem.f32(sAt[i], stride).set(refS.subarray(i * stride, (i + 1) * stride));
      mem.u32(offs, 2 * n)[i] = wAt[i];
      mem.u32(offs, 2 * n)[n + i] = sAt[i];
    }
    for (let step = 1; step <= 3; step++) {
      const g = values(n * dim, 100 + step);
      mem.f32(grads, n * dim).set(g);
      for (let i = 0; i < n; i++) opt.updateRow(refW, i * dim, refS, i * stride, g, i * dim, { lr: config.lr, step });
      optimizerRows(k, config, n, dim, offs, offs + 4 * n, grads, { lr: config.lr, step });
    }
    const got = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) got.set(mem.f32(wAt[i], dim), i * dim);
    expectClose(got, refW, 1e-5);
  });
});
