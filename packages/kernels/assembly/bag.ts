// EmbeddingBag over a matrix of rows: bag b covers positions offsets[b] .. offsets[b+1], and
// position p reads row rowIndex[p] of `rows` (the distinct rows a batch pulled). mode 0 sum,
// 1 mean, 2 max. Optional per-sample weights (sum mode). Every bag's sum runs in position
// order.

const SUM: i32 = 0;
const MEAN: i32 = 1;

/**
 * out[b] = pooled rows of bag b (bags × dim). For max, argmax[b·dim + d] gets the position
 * that won (−1 for an empty bag, whose output is zeros, as PyTorch's).
 */
export function bagForward(
  mode: i32,
  bags: i32,
  dim: i32,
  offsets: usize,
  rowIndex: usize,
  perSample: usize,
  rows: usize,
  out: usize,
  argmax: usize,
): void {
  const bytes = (<usize>dim) << 2;
  const vec = bytes & ~15;
  for (let b = 0; b < bags; b++) {
    const start = load<i32>(offsets + ((<usize>b) << 2));
    const end = load<i32>(offsets + ((<usize>(b + 1)) << 2));
    const o = out + <usize>b * bytes;
    if (mode <= MEAN) {
      let done: usize = 0;
      // Sixteen floats of the bag's output at a time, summed in registers over the bag's rows
      // (rather than loaded and stored back for every row): each output is still 0 plus the
      // rows in order, then the mean's one division, so the bits are the same.
      for (; done + 64 <= vec; done += 64) {
        let a0 = f32x4.splat(0);
        let a1 = f32x4.splat(0);
        let a2 = f32x4.splat(0);
        let a3 = f32x4.splat(0);
        for (let p = start; p < end; p++) {
          const r = rows + <usize>load<i32>(rowIndex + ((<usize>p) << 2)) * bytes + done;
          if (perSample != 0) {
            const w = f32x4.splat(load<f32>(perSample + ((<usize>p) << 2)));
            a0 = f32x4.add(a0, f32x4.mul(w, v128.load(r)));
            a1 = f32x4.add(a1, f32x4.mul(w, v128.load(r + 16)));
            a2 = f32x4.add(a2, f32x4.mul(w, v128.load(r + 32)));
            a3 = f32x4.add(a3, f32x4.mul(w, v128.load(r + 48)));
          } else {
            a0 = f32x4.add(a0, v128.load(r));
            a1 = f32x4.add(a1, v128.load(r + 16));
            a2 = f32x4.add(a2, v128.load(r + 32));
            a3 = f32x4.add(a3, v128.load(r + 48));
          }
        }
        v128.store(o + done, a0);
        v128.store(o + done + 16, a1);
        v128.store(o + done + 32, a2);
        v128.store(o + done + 48, a3);
      }
      // The rest of the row (dims not a multiple of sixteen), row by row through memory.
      let off: usize = done;
      for (; off < vec; off += 16) v128.store(o + off, f32x4.splat(0));
      for (; off < bytes; off += 4) store<f32>(o + off, 0);
      for (let p = start; done < bytes && p < end; p++) {
        const r = rows + <usize>load<i32>(rowIndex + ((<usize>p) << 2)) * bytes;
        if (perSample != 0) {
          const w = f32x4.splat(load<f32>(perSample + ((<usize>p) << 2)));
          off = done;
          for (; off < vec; off += 16) v128.store(o + off, f32x4.add(v128.load(o + off), f32x4.mul(w, v128.load(r + off))));
          const ws = load<f32>(perSample + ((<usize>p) << 2));
          for (; off < bytes; off += 4) store<f32>(o + off, load<f32>(o + off) + ws * load<f32>(r + off));
        } else {
          off = done;
          for (; off < vec; off += 16) v128.store(o + off, f32x4.add(v128.load(o + off), v128.load(r + off)));
          for (; off < bytes; off += 4) store<f32>(o + off, load<f32>(o + off) + load<f32>(r + off));
        }
      }
      if (mode == MEAN && end > start) {
        const inv = f32x4.splat(<f32>(end - start));
        off = 0;
        for (; off < vec; off += 16) v128.store(o + off, f32x4.div(v128.load(o + off), inv));
        const n = <f32>(end - start);
        for (; off < bytes; off += 4) store<f32>(o + off, load<f32>(o + off) / n);
      }
    } else {
      for (let d = 0; d < dim; d++) {
        let best: f32 = 0;
        let at: i32 = -1;
        for (let p = start; p < end; p++) {
          const v = load<f32>(rows + <usize>load<i32>(rowIndex + ((<usize>p) << 2)) * bytes + ((<usize>d) << 2));
          if (at < 0 || v > best) {
            best = v;
            at = p;
          }
        }
        store<f32>(o + ((<usize>d) << 2), best);
        store<i32>(argmax + ((<usize>b * <usize>dim + <usize>d) << 2), at);
      }
    }
  }
}

/**
 * gradRows[rowIndex[p]] += the share of gradOut[b] that position p of bag b receives:
 * all of it (sum, times its per-sample weight), 1/len (mean), or, for max, the lanes p won.
 */
export function bagBackward(
  mode: i32,
  bags: i32,
  dim: i32,
  offsets: usize,
  rowIndex: usize,
  perSample: usize,
  gradOut: usize,
  gradRows: usize,
  argmax: usize,
): void {
  const bytes = (<usize>dim) << 2;
  const vec = bytes & ~15;
  for (let b = 0; b < bags; b++) {
    const start = load<i32>(offsets + ((<usize>b) << 2));
    const end = load<i32>(offsets + ((<usize>(b + 1)) << 2));
    const g = gradOut + <usize>b * bytes;
    if (mode <= MEAN) {
      if (end <= start) continue;
      const scale: f32 = mode == SUM ? 1 : <f32>1.0 / <f32>(end - start);
      for (let p = start; p < end; p++) {
        const r = gradRows + <usize>load<i32>(rowIndex + ((<usize>p) << 2)) * bytes;
        const s: f32 = perSample != 0 ? scale * load<f32>(perSample + ((<usize>p) << 2)) : scale;
        const vs = f32x4.splat(s);
        let off: usize = 0;
        for (; off < vec; off += 16) v128.store(r + off, f32x4.add(v128.load(r + off), f32x4.mul(vs, v128.load(g + off))));
        for (; off < bytes; off += 4) store<f32>(r + off, load<f32>(r + off) + s * load<f32>(g + off));
      }
    } else {
      for (let d = 0; d < dim; d++) {
        const p = load<i32>(argmax + ((<usize>b * <usize>dim + <usize>d) << 2));
        if (p < 0) continue;
        const r = gradRows + <usize>load<i32>(rowIndex + ((<usize>p) << 2)) * bytes + ((<usize>d) << 2);
        store<f32>(r, load<f32>(r) + load<f32>(g + ((<usize>d) << 2)));
      }
    }
  }
}
