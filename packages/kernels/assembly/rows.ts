// Moving rows: a shard's pull gathers rows scattered over its pages into one reply; a
// worker's backward sums gradient rows per distinct id.

import { addFloats, copyFloats } from './row-ops';

/** out[i] = the row at byte offset load<u32>(srcOffs + 4i), for i < n; out is n × dim. */
export function gatherRows(n: i32, dim: i32, srcOffs: usize, out: usize): void {
  const bytes = (<usize>dim) << 2;
  for (let i = 0; i < n; i++) copyFloats(<usize>load<u32>(srcOffs + ((<usize>i) << 2)), out + <usize>i * bytes, dim);
}

/**
 * dst[index[i]] += scale · src[i] for i < n, in order of i (so a row's sum has one fixed
 * order whatever the layout): src is n × dim, dst a matrix of rows, index i32.
 */
export function scatterAddRows(n: i32, dim: i32, src: usize, index: usize, dst: usize, scale: f32): void {
  const bytes = (<usize>dim) << 2;
  const vec = bytes & ~15;
  const vs = f32x4.splat(scale);
  for (let i = 0; i < n; i++) {
    const s = src + <usize>i * bytes;
    const d = dst + <usize>load<i32>(index + ((<usize>i) << 2)) * bytes;
    if (scale == 1) addFloats(s, d, dim);
    else {
      let o: usize = 0;
      for (; o < vec; o += 16) v128.store(d + o, f32x4.add(v128.load(d + o), f32x4.mul(vs, v128.load(s + o))));
      for (; o < bytes; o += 4) store<f32>(d + o, load<f32>(d + o) + scale * load<f32>(s + o));
    }
  }
}

/**
 * The row at byte offset load<u32>(dstOffs + 4i) += the row at load<u32>(srcOffs + 4i), for
 * i < n in order of i: a shard's pooled pull sums each position's row into its bag's output,
 * and its pooled push adds each position's bag gradient into its row's. Each destination's
 * sum runs in position order, as bagForward's and bagBackward's do, so the bits are theirs.
 */
export function addRowsAt(n: i32, dim: i32, srcOffs: usize, dstOffs: usize): void {
  for (let i = 0; i < n; i++) {
    addFloats(<usize>load<u32>(srcOffs + ((<usize>i) << 2)), <usize>load<u32>(dstOffs + ((<usize>i) << 2)), dim);
  }
}

/** The row at byte offset load<u32>(dstOffs + 4i) = src[i], for i < n: gatherRows' inverse. */
export function scatterRows(n: i32, dim: i32, src: usize, dstOffs: usize): void {
  const bytes = (<usize>dim) << 2;
  for (let i = 0; i < n; i++) copyFloats(src + <usize>i * bytes, <usize>load<u32>(dstOffs + ((<usize>i) << 2)), dim);
}

