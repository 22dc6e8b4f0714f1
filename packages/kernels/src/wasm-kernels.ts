import { ID_TREE_LEAVES } from '@rowshard/core';
import { jsKernels } from './js-kernels.js';
import type { KernelExports } from './kernel-module.js';
import { type BagMode, bagModeCode, type Kernels } from './kernels.js';
import type { StepArena } from './step-arena.js';

type Typed = Float32Array | Int32Array;

/**
 * The WebAssembly SIMD kernels behind the Kernels contract. Arrays that lie in the arena's
 * memory are used in place (the fast path: a step arena hands out such arrays); any other
 * array is staged, copied into a temporary of the arena and, if the kernel writes it, back
 * out. When the arena has no room for a temporary the call runs the JavaScript kernel
 * instead, with the same contract, so a call never fails for want of memory.
 */
export class WasmKernels implements Kernels {
  readonly name = 'wasm';
  private readonly k: KernelExports;

  constructor(private readonly arena: StepArena) {
    this.k = arena.memory.exports;
  }

  /**
   * Runs `body` with byte offsets for `arrays` (0 for null); `written` lists the indexes the
   * kernel writes, copied back when staged. Returns false when staging found no room.
   */
  private withPointers(arrays: readonly (Typed | null)[], written: readonly number[], body: (ptrs: number[]) => void): boolean {
    const mark = this.arena.mark();
    const ptrs: number[] = [];
    const staged: (Typed | null)[] = [];
    for (const a of arrays) {
      if (a === null) {
        ptrs.push(0);
        staged.push(null);
      } else if (this.arena.holds(a)) {
        ptrs.push(a.byteOffset);
        staged.push(null);
      } else {
        const at = this.arena.tryAlloc(a.byteLength);
        if (at < 0) {
          this.arena.release(mark);
          return false;
        }
        const view = a instanceof Float32Array ? this.arena.memory.f32(at, a.length) : this.arena.memory.i32(at, a.length);
        view.set(a);
        ptrs.push(at);
        staged.push(view);
      }
    }
    body(ptrs);
    for (const i of written) {
      const view = staged[i];
      if (view) (arrays[i] as Typed).set(view);
    }
    this.arena.release(mark);
    return true;
  }

  linearForward(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    out: Float32Array,
    rows: number,
    inF: number,
    outF: number,
  ) {
    // The kernel reads Wᵀ so that it vectorises across outputs: a transposed copy per call.
    const mark = this.arena.mark();
    const wt = this.arena.tryAlloc(w.byteLength);
    const ok =
      wt >= 0 &&
      this.withPointers([x, w, b, out], [3], ([px, pw, pb, po]) => {
        this.k.transpose(outF, inF, pw, wt);
        this.k.linearForward(rows, inF, outF, px, wt, pb, po);
      });
    this.arena.release(mark);
    if (!ok) jsKernels.linearForward(x, w, b, out, rows, inF, outF);
  }

  linearGradInput(g: Float32Array, w: Float32Array, gx: Float32Array, rows: number, inF: number, outF: number) {
    const ok = this.withPointers([g, w, gx], [2], ([pg, pw, px]) => this.k.linearGradInput(rows, inF, outF, pg, pw, px));
    if (!ok) jsKernels.linearGradInput(g, w, gx, rows, inF, outF);
  }

  linearGradWeight(
    g: Float32Array,
    x: Float32Array,
    gw: Float32Array,
    gb: Float32Array | null,
    rows: number,
    inF: number,
    outF: number,
  ) {
    const ok = this.withPointers([g, x, gw, gb], [2, 3], ([pg, px, pw, pb]) =>
      this.k.linearGradWeight(rows, inF, outF, pg, px, pw, pb),
    );
    if (!ok) jsKernels.linearGradWeight(g, x, gw, gb, rows, inF, outF);
  }

  reluForward(x: Float32Array, out: Float32Array) {
    const ok = this.withPointers([x, out], [1], ([px, po]) => this.k.reluForward(x.length, px, po));
    if (!ok) jsKernels.reluForward(x, out);
  }

  reluBackward(out: Float32Array, g: Float32Array, gx: Float32Array) {
    const ok = this.withPointers([out, g, gx], [2], ([po, pg, px]) => this.k.reluBackward(out.length, po, pg, px));
    if (!ok) jsKernels.reluBackward(out, g, gx);
  }

  dropoutMask(out: Float32Array, key: { k0: number; k1: number }, counter: number, p: number) {
    const scale = Math.fround(1 / (1 - p));
    // (x + 0.5) / 2^32 >= p exactly when x >= p·2^32 − 0.5 (both sides exact in doubles).
    const threshold = p * 4294967296 - 0.5;
    const lo = counter >>> 0;
    const hi = Math.floor(counter / 4294967296) >>> 0;
    const ok = this.withPointers([out], [0], ([po]) =>
      this.k.dropoutMask(out.length, key.k0, key.k1, lo, hi, threshold, scale, po),
    );
    if (!ok) jsKernels.dropoutMask(out, key, counter, p);
  }

  mul(x: Float32Array, scale: Float32Array, out: Float32Array) {
    const ok = this.withPointers([x, scale, out], [2], ([px, ps, po]) => this.k.mulElementwise(x.length, px, ps, po));
    if (!ok) jsKernels.mul(x, scale, out);
  }

  mulAdd(x: Float32Array, scale: Float32Array, acc: Float32Array) {
    const ok = this.withPointers([x, scale, acc], [2], ([px, ps, pa]) => this.k.mulAddElementwise(x.length, px, ps, pa));
    if (!ok) jsKernels.mulAdd(x, scale, acc);
  }

  softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, probs: Float32Array, n: number, c: number): number {
    let loss = 0;
    const ok = this.withPointers([logits, targets, probs], [2], ([pl, pt, pp]) => {
      loss = this.k.softmaxCrossEntropy(n, c, pl, pt, pp);
    });
    return ok ? loss : jsKernels.softmaxCrossEntropy(logits, targets, probs, n, c);
  }

  softmaxCrossEntropyBackward(probs: Float32Array, targets: Int32Array, g: number, gl: Float32Array, n: number, c: number) {
    const ok = this.withPointers([probs, targets, gl], [2], ([pp, pt, pg]) =>
      this.k.softmaxCrossEntropyBackward(n, c, pp, pt, g, pg),
    );
    if (!ok) jsKernels.softmaxCrossEntropyBackward(probs, targets, g, gl, n, c);
  }

  bagForward(
    mode: BagMode,
    offsets: Int32Array,
    rowIndex: Int32Array,
    perSample: Float32Array | null,
    rows: Float32Array,
    out: Float32Array,
    argmax: Int32Array | null,
    dim: number,
  ) {
    const ok = this.withPointers([offsets, rowIndex, perSample, rows, out, argmax], [4, 5], ([po, pr, pw, prows, pout, pa]) =>
      this.k.bagForward(bagModeCode[mode], offsets.length - 1, dim, po, pr, pw, prows, pout, pa),
    );
    if (!ok) jsKernels.bagForward(mode, offsets, rowIndex, perSample, rows, out, argmax, dim);
  }

  bagBackward(
    mode: BagMode,
    offsets: Int32Array,
    rowIndex: Int32Array,
    perSample: Float32Array | null,
    gradOut: Float32Array,
    gradRows: Float32Array,
    argmax: Int32Array | null,
    dim: number,
  ) {
    const ok = this.withPointers([offsets, rowIndex, perSample, gradOut, gradRows, argmax], [4], ([po, pr, pw, pg, pgr, pa]) =>
      this.k.bagBackward(bagModeCode[mode], offsets.length - 1, dim, po, pr, pw, pg, pgr, pa),
    );
    if (!ok) jsKernels.bagBackward(mode, offsets, rowIndex, perSample, gradOut, gradRows, argmax, dim);
  }

  idTreeBagSums(
    bounds: Int32Array,
    rowIndex: Int32Array,
    leafOf: Int32Array,
    rows: Float32Array,
    out: Float32Array,
    dim: number,
  ) {
    // The kernel takes byte offsets of rows (a shard's lie anywhere in its memory): here base + index·dim·4.
    const n = rowIndex.length;
    const mark = this.arena.mark();
    const offs = this.arena.tryAlloc(4 * n);
    const scratch = this.arena.tryAlloc(4 * ID_TREE_LEAVES * dim);
    const ok =
      offs >= 0 &&
      scratch >= 0 &&
      this.withPointers([bounds, leafOf, rows, out], [3], ([pb, pl, prows, pout]) => {
        const u32 = this.arena.memory.u32(offs, n);
        const stride = dim * 4;
        for (let i = 0; i < n; i++) u32[i] = prows + rowIndex[i] * stride;
        this.k.idTreeSums(bounds.length - 1, dim, ID_TREE_LEAVES, pb, offs, pl, pout, scratch);
      });
    this.arena.release(mark);
    if (!ok) jsKernels.idTreeBagSums(bounds, rowIndex, leafOf, rows, out, dim);
  }

  gatherRows(src: Float32Array, index: Int32Array, out: Float32Array, dim: number) {
    // The row kernel takes byte offsets of rows; for a matrix they are base + index·dim·4.
    const mark = this.arena.mark();
    const offs = this.arena.tryAlloc(index.byteLength);
    const ok =
      offs >= 0 &&
      this.withPointers([src, out], [1], ([ps, po]) => {
        const u32 = this.arena.memory.u32(offs, index.length);
        const stride = dim * 4;
        for (let i = 0; i < index.length; i++) u32[i] = ps + index[i] * stride;
        this.k.gatherRows(index.length, dim, offs, po);
      });
    this.arena.release(mark);
    if (!ok) jsKernels.gatherRows(src, index, out, dim);
  }

  scatterAddRows(src: Float32Array, index: Int32Array, dst: Float32Array, dim: number, scale: number) {
    const ok = this.withPointers([src, index, dst], [2], ([ps, pi, pd]) =>
      this.k.scatterAddRows(index.length, dim, ps, pi, pd, scale),
    );
    if (!ok) jsKernels.scatterAddRows(src, index, dst, dim, scale);
  }
}
