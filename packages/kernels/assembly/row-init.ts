// A table row's initial values from Philox4x32-10, bit for bit what packages/core/src/rng.ts
// computes in JavaScript: element j of a row comes from word j % 4 of block
// philox(key, [rowLo, rowHi, j / 4, tag]). Four blocks are computed at once, one per SIMD lane.
// A shard makes every row it materialises this way, and a model file's untouched rows too.

import { M0, M1, W0, W1 } from './philox';

/** The high 32 bits of each lane's 64-bit product. */
// @ts-ignore: decorator
@inline
function mulhi4(a: v128, b: v128): v128 {
  return v128.shuffle<u32>(i64x2.extmul_low_i32x4_u(a, b), i64x2.extmul_high_i32x4_u(a, b), 1, 3, 5, 7);
}

/**
 * Blocks first .. first+3 of (key, rowLo, rowHi, tag), stored as 16 consecutive words at
 * `out` (block first's four words, then first+1's, ...).
 */
// @ts-ignore: decorator
@inline
function philoxFour(k0: u32, k1: u32, rowLo: u32, rowHi: u32, first: u32, tag: u32, out: usize): void {
  let x0 = i32x4.splat(rowLo);
  let x1 = i32x4.splat(rowHi);
  let x2 = i32x4.add(i32x4.splat(first), i32x4(0, 1, 2, 3));
  let x3 = i32x4.splat(tag);
  const m0 = i32x4.splat(M0);
  const m1 = i32x4.splat(M1);
  let key0 = k0;
  let key1 = k1;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi4(m0, x0);
    const lo0 = i32x4.mul(m0, x0);
    const hi1 = mulhi4(m1, x2);
    const lo1 = i32x4.mul(m1, x2);
    x0 = v128.xor(v128.xor(hi1, x1), i32x4.splat(key0));
    x1 = lo1;
    x2 = v128.xor(v128.xor(hi0, x3), i32x4.splat(key1));
    x3 = lo0;
    key0 += W0;
    key1 += W1;
  }
  // Lane i of x0..x3 is block first+i: transpose to one block per vector.
  const t0 = v128.shuffle<u32>(x0, x1, 0, 4, 1, 5);
  const t1 = v128.shuffle<u32>(x2, x3, 0, 4, 1, 5);
  const t2 = v128.shuffle<u32>(x0, x1, 2, 6, 3, 7);
  const t3 = v128.shuffle<u32>(x2, x3, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<u64>(t0, t1, 0, 2));
  v128.store(out + 16, v128.shuffle<u64>(t0, t1, 1, 3));
  v128.store(out + 32, v128.shuffle<u64>(t2, t3, 0, 2));
  v128.store(out + 48, v128.shuffle<u64>(t2, t3, 1, 3));
}

/**
 * `blocks` Philox blocks of a row, from block 0: 4·blocks uint32 at `out` (rounded up to a
 * multiple of four blocks, so `out` must have room for 16·ceil(blocks / 4) words).
 */
export function philoxRowBlocks(k0: u32, k1: u32, rowLo: u32, rowHi: u32, tag: u32, blocks: i32, out: usize): void {
  for (let b = 0; b < blocks; b += 4) philoxFour(k0, k1, rowLo, rowHi, <u32>b, tag, out + (<usize>b << 4));
}

/**
 * out[j] = f32(a + width · (word_j / 2^32)) for j < count: the uniform init, computed in
 * float64 and rounded once, as fillUniformRow does. `scratch` holds 64 bytes.
 */
export function uniformRow(
  k0: u32,
  k1: u32,
  rowLo: u32,
  rowHi: u32,
  tag: u32,
  count: i32,
  a: f64,
  width: f64,
  out: usize,
  scratch: usize,
): void {
  const va = f64x2.splat(a);
  const vw = f64x2.splat(width);
  const unit = f64x2.splat(1.0 / 4294967296.0);
  for (let j = 0; j < count; j += 16) {
    philoxFour(k0, k1, rowLo, rowHi, <u32>(j >>> 2), tag, scratch);
    const n = min(16, count - j);
    const dst = out + (<usize>j << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const words = v128.load(scratch + (<usize>i << 2));
      const low = f64x2.add(va, f64x2.mul(vw, f64x2.mul(f64x2.convert_low_i32x4_u(words), unit)));
      const high = f64x2.add(
        va,
        f64x2.mul(vw, f64x2.mul(f64x2.convert_low_i32x4_u(v128.shuffle<u32>(words, words, 2, 3, 0, 1)), unit)),
      );
      v128.store(dst + (<usize>i << 2), v128.shuffle<u32>(f32x4.demote_f64x2_zero(low), f32x4.demote_f64x2_zero(high), 0, 1, 4, 5));
    }
    for (; i < n; i++) {
      const word = <f64>load<u32>(scratch + (<usize>i << 2));
      store<f32>(dst + (<usize>i << 2), <f32>(a + width * (word / 4294967296.0)));
    }
  }
}
