// Elementwise ops and the loss: ReLU, dropout with a given mask, softmax cross-entropy.

/** out = max(x, 0). */
export function reluForward(n: i32, x: usize, out: usize): void {
  const bytes = (<usize>n) << 2;
  const vec = bytes & ~15;
  const zero = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vec; o += 16) v128.store(out + o, f32x4.max(v128.load(x + o), zero));
  for (; o < bytes; o += 4) {
    const v = load<f32>(x + o);
    store<f32>(out + o, v > 0 ? v : 0);
  }
}

/** gx += g where the forward's output was positive. */
export function reluBackward(n: i32, out: usize, g: usize, gx: usize): void {
  const bytes = (<usize>n) << 2;
  const vec = bytes & ~15;
  const zero = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vec; o += 16) {
    const keep = f32x4.gt(v128.load(out + o), zero);
    v128.store(gx + o, f32x4.add(v128.load(gx + o), v128.and(v128.load(g + o), keep)));
  }
  for (; o < bytes; o += 4) if (load<f32>(out + o) > 0) store<f32>(gx + o, load<f32>(gx + o) + load<f32>(g + o));
}

/** out = x · scale (scale: 0 where dropped, 1/(1−p) where kept); the backward is the same with g. */
export function mulElementwise(n: i32, x: usize, scale: usize, out: usize): void {
  const bytes = (<usize>n) << 2;
  const vec = bytes & ~15;
  let o: usize = 0;
  for (; o < vec; o += 16) v128.store(out + o, f32x4.mul(v128.load(x + o), v128.load(scale + o)));
  for (; o < bytes; o += 4) store<f32>(out + o, load<f32>(x + o) * load<f32>(scale + o));
}

/** acc += x · scale (the dropout backward, accumulating into a gradient). */
export function mulAddElementwise(n: i32, x: usize, scale: usize, acc: usize): void {
  const bytes = (<usize>n) << 2;
  const vec = bytes & ~15;
  let o: usize = 0;
  for (; o < vec; o += 16) v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(v128.load(x + o), v128.load(scale + o))));
  for (; o < bytes; o += 4) store<f32>(acc + o, load<f32>(acc + o) + load<f32>(x + o) * load<f32>(scale + o));
}

/**
 * Mean softmax cross-entropy of logits [n, c] against class ids targets (i32): returns the
 * loss and leaves the softmax in probs [n, c] for the backward. Sums are in f64 so the loss
 * of a large batch keeps its digits. Targets are checked by the caller.
 */
export function softmaxCrossEntropy(n: i32, c: i32, logits: usize, targets: usize, probs: usize): f64 {
  let total: f64 = 0;
  for (let r = 0; r < n; r++) {
    const row = logits + ((<usize>r * <usize>c) << 2);
    const prow = probs + ((<usize>r * <usize>c) << 2);
    let max: f32 = load<f32>(row);
    for (let k = 1; k < c; k++) max = Mathf.max(max, load<f32>(row + ((<usize>k) << 2)));
    let sum: f64 = 0;
    for (let k = 0; k < c; k++) {
      const e = Math.exp(<f64>(load<f32>(row + ((<usize>k) << 2)) - max));
      store<f32>(prow + ((<usize>k) << 2), <f32>e);
      sum += e;
    }
    const inv = 1.0 / sum;
    for (let k = 0; k < c; k++) store<f32>(prow + ((<usize>k) << 2), <f32>(<f64>load<f32>(prow + ((<usize>k) << 2)) * inv));
    const t = load<i32>(targets + ((<usize>r) << 2));
    total += -(<f64>(load<f32>(row + ((<usize>t) << 2)) - max) - Math.log(sum));
  }
  return total / <f64>n;
}

/** gl [n, c] += (g / n)·(probs − onehot(targets)). */
export function softmaxCrossEntropyBackward(n: i32, c: i32, probs: usize, targets: usize, g: f32, gl: usize): void {
  const s: f32 = g / <f32>n;
  for (let r = 0; r < n; r++) {
    const prow = probs + ((<usize>r * <usize>c) << 2);
    const grow = gl + ((<usize>r * <usize>c) << 2);
    const t = load<i32>(targets + ((<usize>r) << 2));
    for (let k = 0; k < c; k++) {
      const onehot: f32 = k == t ? 1 : 0;
      store<f32>(
        grow + ((<usize>k) << 2),
        load<f32>(grow + ((<usize>k) << 2)) + s * (load<f32>(prow + ((<usize>k) << 2)) - onehot),
      );
    }
  }
}
