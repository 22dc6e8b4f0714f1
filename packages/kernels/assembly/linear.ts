// Linear layers, y = x·Wᵀ + b with W [out, in] (PyTorch's layout). Every output element is
// one running sum in a fixed order (over inputs in the forward, over outputs for the input
// gradient, over rows for the weight gradient), vectorised across independent elements, so
// results are deterministic and do not depend on the batch's other rows.

/** dst [cols, rows] = srcᵀ for src [rows, cols]. */
export function transpose(rows: i32, cols: i32, src: usize, dst: usize): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      store<f32>(dst + ((<usize>c * <usize>rows + <usize>r) << 2), load<f32>(src + ((<usize>r * <usize>cols + <usize>c) << 2)));
    }
  }
}

/**
 * out [rows, outF] = x [rows, inF] · W + b, given wt = Wᵀ [inF, outF] (see transpose) and
 * b [outF] or 0. out[r, o] = b[o] + Σ_i x[r, i]·W[o, i], summed over i in order.
 */
export function linearForward(rows: i32, inF: i32, outF: i32, x: usize, wt: usize, b: usize, out: usize): void {
  const obytes = (<usize>outF) << 2;
  const vec = obytes & ~15;
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>inF) << 2);
    const orow = out + <usize>r * obytes;
    let o: usize = 0;
    // Four vectors of outputs at a time: four independent running sums hide the add's
    // latency (one sum waited on itself), and each x[r, i] is splatted once for sixteen
    // outputs. Each output is still b[o] + Σ_i in order: the same bits.
    for (; o + 64 <= vec; o += 64) {
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      if (b != 0) {
        a0 = v128.load(b + o);
        a1 = v128.load(b + o + 16);
        a2 = v128.load(b + o + 32);
        a3 = v128.load(b + o + 48);
      }
      for (let i = 0; i < inF; i++) {
        const xi = f32x4.splat(load<f32>(xr + ((<usize>i) << 2)));
        const wi = wt + <usize>i * obytes + o;
        a0 = f32x4.add(a0, f32x4.mul(xi, v128.load(wi)));
        a1 = f32x4.add(a1, f32x4.mul(xi, v128.load(wi + 16)));
        a2 = f32x4.add(a2, f32x4.mul(xi, v128.load(wi + 32)));
        a3 = f32x4.add(a3, f32x4.mul(xi, v128.load(wi + 48)));
      }
      v128.store(orow + o, a0);
      v128.store(orow + o + 16, a1);
      v128.store(orow + o + 32, a2);
      v128.store(orow + o + 48, a3);
    }
    for (; o < vec; o += 16) {
      let acc = b != 0 ? v128.load(b + o) : f32x4.splat(0);
      for (let i = 0; i < inF; i++) {
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(xr + ((<usize>i) << 2))), v128.load(wt + <usize>i * obytes + o)));
      }
      v128.store(orow + o, acc);
    }
    for (; o < obytes; o += 4) {
      let acc: f32 = b != 0 ? load<f32>(b + o) : 0;
      for (let i = 0; i < inF; i++) acc += load<f32>(xr + ((<usize>i) << 2)) * load<f32>(wt + <usize>i * obytes + o);
      store<f32>(orow + o, acc);
    }
  }
}

/**
 * gx [rows, inF] += g [rows, outF] · W [outF, inF]: gx[r, i] += Σ_o g[r, o]·W[o, i], over o in
 * order (terms with g[r, o] = 0 left out).
 */
export function linearGradInput(rows: i32, inF: i32, outF: i32, g: usize, w: usize, gx: usize): void {
  const ibytes = (<usize>inF) << 2;
  const vec = ibytes & ~15;
  for (let r = 0; r < rows; r++) {
    const gr = g + ((<usize>r * <usize>outF) << 2);
    const xr = gx + <usize>r * ibytes;
    let start: usize = 0;
    // Sixteen inputs at a time held in registers across the sum over o (rather than loaded
    // and stored back for every o): the same terms in the same order, so the same bits.
    for (; start + 64 <= vec; start += 64) {
      let a0 = v128.load(xr + start);
      let a1 = v128.load(xr + start + 16);
      let a2 = v128.load(xr + start + 32);
      let a3 = v128.load(xr + start + 48);
      for (let o = 0; o < outF; o++) {
        const gv = load<f32>(gr + ((<usize>o) << 2));
        if (gv == 0) continue;
        const s = f32x4.splat(gv);
        const wr = w + <usize>o * ibytes + start;
        a0 = f32x4.add(a0, f32x4.mul(s, v128.load(wr)));
        a1 = f32x4.add(a1, f32x4.mul(s, v128.load(wr + 16)));
        a2 = f32x4.add(a2, f32x4.mul(s, v128.load(wr + 32)));
        a3 = f32x4.add(a3, f32x4.mul(s, v128.load(wr + 48)));
      }
      v128.store(xr + start, a0);
      v128.store(xr + start + 16, a1);
      v128.store(xr + start + 32, a2);
      v128.store(xr + start + 48, a3);
    }
    if (start == ibytes) continue;
    for (let o = 0; o < outF; o++) {
      const gv = load<f32>(gr + ((<usize>o) << 2));
      if (gv == 0) continue;
      const s = f32x4.splat(gv);
      const wr = w + <usize>o * ibytes;
      let i: usize = start;
      for (; i < vec; i += 16) v128.store(xr + i, f32x4.add(v128.load(xr + i), f32x4.mul(s, v128.load(wr + i))));
      for (; i < ibytes; i += 4) store<f32>(xr + i, load<f32>(xr + i) + gv * load<f32>(wr + i));
    }
  }
}

/**
 * gw [outF, inF] += gᵀ · x: gw[o, i] += Σ_r g[r, o]·x[r, i], over r in order (terms with
 * g[r, o] = 0 left out); and, when gb is not 0, gb[o] += Σ_r g[r, o], over r in order.
 */
export function linearGradWeight(rows: i32, inF: i32, outF: i32, g: usize, x: usize, gw: usize, gb: usize): void {
  const ibytes = (<usize>inF) << 2;
  const obytes = (<usize>outF) << 2;
  const vec = ibytes & ~15;
  if (gb != 0) {
    for (let r = 0; r < rows; r++) {
      const gr = g + <usize>r * obytes;
      for (let o = 0; o < outF; o++) {
        const at = gb + ((<usize>o) << 2);
        store<f32>(at, load<f32>(at) + load<f32>(gr + ((<usize>o) << 2)));
      }
    }
  }
  let start: usize = 0;
  // Sixteen weights of a row of gw at a time, held in registers across the sum over r (rather
  // than loaded and stored back for every r): the same terms in the same order, the same bits.
  for (; start + 64 <= vec; start += 64) {
    for (let o = 0; o < outF; o++) {
      const wr = gw + <usize>o * ibytes + start;
      let a0 = v128.load(wr);
      let a1 = v128.load(wr + 16);
      let a2 = v128.load(wr + 32);
      let a3 = v128.load(wr + 48);
      for (let r = 0; r < rows; r++) {
        const gv = load<f32>(g + <usize>r * obytes + ((<usize>o) << 2));
        if (gv == 0) continue;
        const s = f32x4.splat(gv);
        const xr = x + <usize>r * ibytes + start;
        a0 = f32x4.add(a0, f32x4.mul(s, v128.load(xr)));
        a1 = f32x4.add(a1, f32x4.mul(s, v128.load(xr + 16)));
        a2 = f32x4.add(a2, f32x4.mul(s, v128.load(xr + 32)));
        a3 = f32x4.add(a3, f32x4.mul(s, v128.load(xr + 48)));
      }
      v128.store(wr, a0);
      v128.store(wr + 16, a1);
      v128.store(wr + 32, a2);
      v128.store(wr + 48, a3);
    }
  }
  if (start == ibytes) return;
  for (let r = 0; r < rows; r++) {
    const gr = g + <usize>r * obytes;
    const xr = x + <usize>r * ibytes;
    for (let o = 0; o < outF; o++) {
      const gv = load<f32>(gr + ((<usize>o) << 2));
      if (gv == 0) continue;
      const s = f32x4.splat(gv);
      const wr = gw + <usize>o * ibytes;
      let i: usize = start;
      for (; i < vec; i += 16) v128.store(wr + i, f32x4.add(v128.load(wr + i), f32x4.mul(s, v128.load(xr + i))));
      for (; i < ibytes; i += 4) store<f32>(wr + i, load<f32>(wr + i) + gv * load<f32>(xr + i));
    }
  }
}
