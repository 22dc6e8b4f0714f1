// BSP's order of a bag's adds, the id tree (packages/kernels/src/id-tree.ts): leaf r of a bag
// is its rows whose id ≡ r mod `leaves`, added from +0 in position order; then, for half =
// leaves/2 down to 1, node r + half is added into node r (r < half); the bag's sum is node 0.
// A missing node is +0, and no node is −0, so a node whose partner is missing is moved, not
// added: the same bits.

import { addFloats, copyFloats } from './row-ops';

/** dst = +0 + src over a row (a node's first row: +0 turns a −0 into +0, as a sum from +0 does). */
// @ts-expect-error: decorator
@inline
function setPlusZero(src: usize, dst: usize, floats: i32): void {
  const bytes = (<usize>floats) << 2;
  const vec = bytes & ~15;
  const zero = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vec; o += 16) v128.store(dst + o, f32x4.add(zero, v128.load(src + o)));
  for (; o < bytes; o += 4) store<f32>(dst + o, <f32>0 + load<f32>(src + o));
}

/**
 * out[b] (bags × dim) = bag b's sum in the id tree's order: its positions are bounds[b] ..
 * bounds[b+1] (i32), position p's row is at byte offset load<u32>(srcOffs + 4p) and its leaf
 * is load<i32>(leafOf + 4p), < leaves (a power of two, 32 at most). `scratch` holds `leaves`
 * rows, the nodes of one bag at a time. An empty bag's sum is zeros.
 */
export function idTreeSums(
  bags: i32,
  dim: i32,
  leaves: i32,
  bounds: usize,
  srcOffs: usize,
  leafOf: usize,
  out: usize,
  scratch: usize,
): void {
  const bytes = (<usize>dim) << 2;
  for (let b = 0; b < bags; b++) {
    const start = load<i32>(bounds + ((<usize>b) << 2));
    const end = load<i32>(bounds + ((<usize>(b + 1)) << 2));
    let present: u32 = 0;
    for (let p = start; p < end; p++) {
      const leaf = load<u32>(leafOf + ((<usize>p) << 2));
      const node = scratch + <usize>leaf * bytes;
      const src = <usize>load<u32>(srcOffs + ((<usize>p) << 2));
      if (present & (<u32>1 << leaf)) addFloats(src, node, dim);
      else setPlusZero(src, node, dim);
      present |= <u32>1 << leaf;
    }
    for (let half = <u32>leaves >> 1; half >= 1; half >>= 1) {
      const lowerMask: u32 = (<u32>1 << half) - 1;
      const upperHalf = (present >> half) & lowerMask;
      for (let upper = upperHalf; upper != 0; upper &= upper - 1) {
        const r = <u32>ctz(upper);
        const lower = scratch + <usize>r * bytes;
        const from = scratch + <usize>(r + half) * bytes;
        if (present & (<u32>1 << r)) addFloats(from, lower, dim);
        else copyFloats(from, lower, dim);
      }
      present = (present & lowerMask) | upperHalf;
    }
    const o = out + <usize>b * bytes;
    if (present != 0) copyFloats(scratch, o, dim);
    else memory.fill(o, 0, bytes);
  }
}
