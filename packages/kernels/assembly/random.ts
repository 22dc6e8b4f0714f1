// Dropout masks from Philox4x32-10 (the counter-based generator of packages/core/src/rng.ts,
// bit for bit): element i's draw is word i % 4 of block philox(key, [i / 4, counterLo,
// counterHi, 0x0d70]), so a mask depends only on (key, counter), never on who computes it.

import { M0, M1, W0, W1 } from './philox';

// @ts-ignore: decorator
@inline
function mulhi(a: u32, b: u32): u32 {
  return <u32>((<u64>a * <u64>b) >> 32);
}

/**
 * out[i] = scale where the draw keeps element i ((x + 0.5) / 2^32 >= p, i.e. x >= threshold),
 * 0 where it drops it; n floats.
 */
export function dropoutMask(n: i32, k0: u32, k1: u32, counterLo: u32, counterHi: u32, threshold: f64, scale: f32, out: usize): void {
  for (let i = 0; i < n; i += 4) {
    let x0: u32 = <u32>(i >>> 2);
    let x1: u32 = counterLo;
    let x2: u32 = counterHi;
    let x3: u32 = 0x0d70;
    let key0 = k0;
    let key1 = k1;
    for (let round = 0; round < 10; round++) {
      const hi0 = mulhi(M0, x0);
      const lo0 = M0 * x0;
      const hi1 = mulhi(M1, x2);
      const lo1 = M1 * x2;
      x0 = hi1 ^ x1 ^ key0;
      x1 = lo1;
      x2 = hi0 ^ x3 ^ key1;
      x3 = lo0;
      key0 += W0;
      key1 += W1;
    }
    const o = out + (<usize>i << 2);
    store<f32>(o, <f64>x0 >= threshold ? scale : 0);
    if (i + 1 < n) store<f32>(o + 4, <f64>x1 >= threshold ? scale : 0);
    if (i + 2 < n) store<f32>(o + 8, <f64>x2 >= threshold ? scale : 0);
    if (i + 3 < n) store<f32>(o + 12, <f64>x3 >= threshold ? scale : 0);
  }
}

/** The index of the first value that is NaN or infinite among n floats, or -1. */
export function firstNonFinite(n: i32, values: usize): i32 {
  const bytes = <usize>n << 2;
  const vec = bytes & ~15;
  const zero = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vec; o += 16) {
    const v = v128.load(values + o);
    // v − v is 0 for a finite value and NaN otherwise.
    if (v128.any_true(f32x4.ne(f32x4.sub(v, v), zero))) break;
  }
  for (; o < bytes; o += 4) {
    const v = load<f32>(values + o);
    if (v - v != 0) return <i32>(o >> 2);
  }
  return -1;
}
