// Sparse optimizer updates over rows addressed by byte offsets into this memory: row i's
// weights start at load<u32>(wOffs + 4i), its optimizer state at load<u32>(sOffs + 4i), its
// gradient at grads + 4·dim·i. Rows are independent (a caller sums duplicate ids first), so a
// row's result does not depend on where it lives or what else is in the request. dim is a
// multiple of 4 on the vector path; the tail of other dims runs lane by lane.
//
// The arithmetic follows torch.optim's float32 operation order, so results stay within a
// few ulps of PyTorch's.
//
// Every kernel takes `save`: when not 0, row i's weights and then its state are copied to
// save + 4·i·(dim + state floats) before they change (one sequential write while the row is
// in cache), so a caller can put the rows back. Each returns the first row whose new weights
// or state hold a NaN or an infinity, or -1: a finite gradient can still overflow.

import { copyFloats } from './row-ops';

// @ts-expect-error: decorator
@inline
function rowPtr(offs: usize, i: i32): usize {
  return <usize>load<u32>(offs + (<usize>i << 2));
}

/** Row i's weights, then its `stateFloats` floats of state, into the save block (when there is one). */
// @ts-expect-error: decorator
@inline
function saveRow(save: usize, i: i32, dim: i32, w: usize, s: usize, stateFloats: i32): void {
  if (save == 0) return;
  const at = save + ((<usize>i * <usize>(dim + stateFloats)) << 2);
  copyFloats(w, at, dim);
  if (stateFloats > 0) copyFloats(s, at + ((<usize>dim) << 2), stateFloats);
}

/** All lanes set where x is NaN or infinite (x − x is 0 only for a finite x). */
// @ts-expect-error: decorator
@inline
function nonFinite(x: v128): v128 {
  return f32x4.ne(f32x4.sub(x, x), f32x4.splat(0));
}

/** SGD: w ← w − lr·(g + wd·w). */
export function sgdRows(n: i32, dim: i32, wOffs: usize, grads: usize, lr: f32, weightDecay: f32, save: usize): i32 {
  const vlr = f32x4.splat(lr);
  const vwd = f32x4.splat(weightDecay);
  const vec = dim & ~3;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const w = rowPtr(wOffs, i);
    const g = grads + ((<usize>i * <usize>dim) << 2);
    saveRow(save, i, dim, w, 0, 0);
    let bad = i32x4.splat(0);
    let badTail = false;
    let d = 0;
    for (; d < vec; d += 4) {
      const o = <usize>d << 2;
      const wv = v128.load(w + o);
      let gv = v128.load(g + o);
      if (weightDecay != 0) gv = f32x4.add(gv, f32x4.mul(vwd, wv));
      const wn = f32x4.sub(wv, f32x4.mul(vlr, gv));
      v128.store(w + o, wn);
      bad = v128.or(bad, nonFinite(wn));
    }
    for (; d < dim; d++) {
      const o = <usize>d << 2;
      const wv = load<f32>(w + o);
      let gv = load<f32>(g + o);
      if (weightDecay != 0) gv += weightDecay * wv;
      const wn = wv - lr * gv;
      store<f32>(w + o, wn);
      badTail = badTail || wn - wn != 0;
    }
    if (first < 0 && (badTail || v128.any_true(bad))) first = i;
  }
  return first;
}

/**
 * Adagrad on a sparse gradient: sum ← sum + g²; w ← w − clr·g / (√sum + eps), with
 * clr = lr / (1 + (step − 1)·lr_decay) computed by the caller; weight decay (lazily, on
 * the rows in the gradient) adds wd·w to g first. State: `dim` floats per row.
 */
export function adagradRows(
  n: i32,
  dim: i32,
  wOffs: usize,
  sOffs: usize,
  grads: usize,
  clr: f32,
  weightDecay: f32,
  eps: f32,
  save: usize,
): i32 {
  const vclr = f32x4.splat(clr);
  const veps = f32x4.splat(eps);
  const vwd = f32x4.splat(weightDecay);
  const vec = dim & ~3;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const w = rowPtr(wOffs, i);
    const s = rowPtr(sOffs, i);
    const g = grads + ((<usize>i * <usize>dim) << 2);
    saveRow(save, i, dim, w, s, dim);
    let bad = i32x4.splat(0);
    let badTail = false;
    let d = 0;
    for (; d < vec; d += 4) {
      const o = <usize>d << 2;
      const wv = v128.load(w + o);
      let gv = v128.load(g + o);
      if (weightDecay != 0) gv = f32x4.add(gv, f32x4.mul(vwd, wv));
      const sv = f32x4.add(v128.load(s + o), f32x4.mul(gv, gv));
      v128.store(s + o, sv);
      const wn = f32x4.sub(wv, f32x4.div(f32x4.mul(vclr, gv), f32x4.add(f32x4.sqrt(sv), veps)));
      v128.store(w + o, wn);
      bad = v128.or(bad, v128.or(nonFinite(sv), nonFinite(wn)));
    }
    for (; d < dim; d++) {
      const o = <usize>d << 2;
      const wv = load<f32>(w + o);
      let gv = load<f32>(g + o);
      if (weightDecay != 0) gv += weightDecay * wv;
      const sv = load<f32>(s + o) + gv * gv;
      store<f32>(s + o, sv);
      const wn = wv - (clr * gv) / (Mathf.sqrt(sv) + eps);
      store<f32>(w + o, wn);
      badTail = badTail || sv - sv != 0 || wn - wn != 0;
    }
    if (first < 0 && (badTail || v128.any_true(bad))) first = i;
  }
  return first;
}

/**
 * torch.optim.SparseAdam, PyTorch's order: m' = m + (1−β1)(g − m); v' = v + (1−β2)(g² − v);
 * w ← w − stepSize · m' / (√v' + eps), stepSize = lr·√(1−β2^t)/(1−β1^t) computed by the
 * caller. State: m then v, `dim` floats each.
 */
export function sparseAdamRows(
  n: i32,
  dim: i32,
  wOffs: usize,
  sOffs: usize,
  grads: usize,
  stepSize: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  save: usize,
): i32 {
  const v1 = f32x4.splat(<f32>1.0 - beta1);
  const v2 = f32x4.splat(<f32>1.0 - beta2);
  const vstep = f32x4.splat(stepSize);
  const veps = f32x4.splat(eps);
  const vec = dim & ~3;
  const vOff = <usize>dim << 2;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const w = rowPtr(wOffs, i);
    const m = rowPtr(sOffs, i);
    const v = m + vOff;
    const g = grads + ((<usize>i * <usize>dim) << 2);
    saveRow(save, i, dim, w, m, 2 * dim);
    let bad = i32x4.splat(0);
    let badTail = false;
    let d = 0;
    for (; d < vec; d += 4) {
      const o = <usize>d << 2;
      const gv = v128.load(g + o);
      const mv = v128.load(m + o);
      const vv = v128.load(v + o);
      const mn = f32x4.add(mv, f32x4.mul(f32x4.sub(gv, mv), v1));
      const vn = f32x4.add(vv, f32x4.mul(f32x4.sub(f32x4.mul(gv, gv), vv), v2));
      v128.store(m + o, mn);
      v128.store(v + o, vn);
      const upd = f32x4.div(mn, f32x4.add(f32x4.sqrt(vn), veps));
      const wn = f32x4.sub(v128.load(w + o), f32x4.mul(vstep, upd));
      v128.store(w + o, wn);
      // An infinite v alone leaves wn finite (m / ∞ = 0), so m and v are checked too.
      bad = v128.or(bad, v128.or(nonFinite(wn), v128.or(nonFinite(mn), nonFinite(vn))));
    }
    for (; d < dim; d++) {
      const o = <usize>d << 2;
      const gv = load<f32>(g + o);
      const mv = load<f32>(m + o);
      const vv = load<f32>(v + o);
      const mn = mv + (gv - mv) * (<f32>1.0 - beta1);
      const vn = vv + (gv * gv - vv) * (<f32>1.0 - beta2);
      store<f32>(m + o, mn);
      store<f32>(v + o, vn);
      const wn = load<f32>(w + o) - stepSize * (mn / (Mathf.sqrt(vn) + eps));
      store<f32>(w + o, wn);
      badTail = badTail || wn - wn != 0 || mn - mn != 0 || vn - vn != 0;
    }
    if (first < 0 && (badTail || v128.any_true(bad))) first = i;
  }
  return first;
}

/**
 * Row-wise Adagrad (FBGEMM's): one accumulator per row, acc ← acc + mean(g²);
 * w ← w − lr·g / (√acc + eps). State: 1 float per row.
 */
export function rowwiseAdagradRows(
  n: i32,
  dim: i32,
  wOffs: usize,
  sOffs: usize,
  grads: usize,
  lr: f32,
  weightDecay: f32,
  eps: f32,
  save: usize,
): i32 {
  const vec = dim & ~3;
  const vwd = f32x4.splat(weightDecay);
  let first = -1;
  for (let i = 0; i < n; i++) {
    const w = rowPtr(wOffs, i);
    const s = rowPtr(sOffs, i);
    const g = grads + ((<usize>i * <usize>dim) << 2);
    saveRow(save, i, dim, w, s, 1);
    let sq = f32x4.splat(0);
    let d = 0;
    for (; d < vec; d += 4) {
      const o = <usize>d << 2;
      let gv = v128.load(g + o);
      if (weightDecay != 0) gv = f32x4.add(gv, f32x4.mul(vwd, v128.load(w + o)));
      sq = f32x4.add(sq, f32x4.mul(gv, gv));
    }
    let sum: f32 =
      f32x4.extract_lane(sq, 0) + f32x4.extract_lane(sq, 1) + f32x4.extract_lane(sq, 2) + f32x4.extract_lane(sq, 3);
    for (; d < dim; d++) {
      const o = <usize>d << 2;
      let gv = load<f32>(g + o);
      if (weightDecay != 0) gv += weightDecay * load<f32>(w + o);
      sum += gv * gv;
    }
    const acc = load<f32>(s) + sum / <f32>dim;
    store<f32>(s, acc);
    const scale = lr / (Mathf.sqrt(acc) + eps);
    const vs = f32x4.splat(scale);
    let bad = i32x4.splat(0);
    let badTail = acc - acc != 0;
    d = 0;
    for (; d < vec; d += 4) {
      const o = <usize>d << 2;
      const wv = v128.load(w + o);
      let gv = v128.load(g + o);
      if (weightDecay != 0) gv = f32x4.add(gv, f32x4.mul(vwd, wv));
      const wn = f32x4.sub(wv, f32x4.mul(vs, gv));
      v128.store(w + o, wn);
      bad = v128.or(bad, nonFinite(wn));
    }
    for (; d < dim; d++) {
      const o = <usize>d << 2;
      const wv = load<f32>(w + o);
      let gv = load<f32>(g + o);
      if (weightDecay != 0) gv += weightDecay * wv;
      const wn = wv - scale * gv;
      store<f32>(w + o, wn);
      badTail = badTail || wn - wn != 0;
    }
    if (first < 0 && (badTail || v128.any_true(bad))) first = i;
  }
  return first;
}
