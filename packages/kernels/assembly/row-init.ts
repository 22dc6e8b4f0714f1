// A table row's initial values from Philox4x32-10, bit for bit what packages/core/src/rng.ts
// computes in JavaScript: element j of a row comes from word j % 4 of block
// philox(key, [rowLo, rowHi, j / 4, tag]). Four blocks are computed at once, one per SIMD lane.
// A shard makes every row it materialises this way, and a model file's untouched rows too.

import { M0, M1, W0, W1 } from './philox';

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
    // Each 64-bit product once: its high words are Philox's mulhi, its low words the mullo.
    const p0l = i64x2.extmul_low_i32x4_u(m0, x0);
    const p0h = i64x2.extmul_high_i32x4_u(m0, x0);
    const p1l = i64x2.extmul_low_i32x4_u(m1, x2);
    const p1h = i64x2.extmul_high_i32x4_u(m1, x2);
    x0 = v128.xor(v128.xor(v128.shuffle<u32>(p1l, p1h, 1, 3, 5, 7), x1), i32x4.splat(key0));
    x1 = v128.shuffle<u32>(p1l, p1h, 0, 2, 4, 6);
    x2 = v128.xor(v128.xor(v128.shuffle<u32>(p0l, p0h, 1, 3, 5, 7), x3), i32x4.splat(key1));
    x3 = v128.shuffle<u32>(p0l, p0h, 0, 2, 4, 6);
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

/** f32(a + width · (word / 2^32)) for the four words of `words`, computed in float64 and rounded once. */
// @ts-ignore: decorator
@inline
function uniformFour(words: v128, va: v128, vw: v128, unit: v128): v128 {
  const low = f64x2.add(va, f64x2.mul(vw, f64x2.mul(f64x2.convert_low_i32x4_u(words), unit)));
  const high = f64x2.add(
    va,
    f64x2.mul(vw, f64x2.mul(f64x2.convert_low_i32x4_u(v128.shuffle<u32>(words, words, 2, 3, 0, 1)), unit)),
  );
  return v128.shuffle<u32>(f32x4.demote_f64x2_zero(low), f32x4.demote_f64x2_zero(high), 0, 1, 4, 5);
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
      v128.store(dst + (<usize>i << 2), uniformFour(v128.load(scratch + (<usize>i << 2)), va, vw, unit));
    }
    for (; i < n; i++) {
      const word = <f64>load<u32>(scratch + (<usize>i << 2));
      store<f32>(dst + (<usize>i << 2), <f32>(a + width * (word / 4294967296.0)));
    }
  }
}

/**
 * Four Philox blocks as uniform floats at `out`: lane i of x0..x3 holds block i's words,
 * transposed so that block i's four floats land at out + 16·i.
 */
// @ts-ignore: decorator
@inline
function storeUniformFour(x0: v128, x1: v128, x2: v128, x3: v128, va: v128, vw: v128, unit: v128, out: usize): void {
  const t0 = v128.shuffle<u32>(x0, x1, 0, 4, 1, 5);
  const t1 = v128.shuffle<u32>(x2, x3, 0, 4, 1, 5);
  const t2 = v128.shuffle<u32>(x0, x1, 2, 6, 3, 7);
  const t3 = v128.shuffle<u32>(x2, x3, 2, 6, 3, 7);
  v128.store(out, uniformFour(v128.shuffle<u64>(t0, t1, 0, 2), va, vw, unit));
  v128.store(out + 16, uniformFour(v128.shuffle<u64>(t0, t1, 1, 3), va, vw, unit));
  v128.store(out + 32, uniformFour(v128.shuffle<u64>(t2, t3, 0, 2), va, vw, unit));
  v128.store(out + 48, uniformFour(v128.shuffle<u64>(t2, t3, 1, 3), va, vw, unit));
}

/** The row of the block `k` places after block `block` of row `row`, rows of `perRow` blocks. */
// @ts-ignore: decorator
@inline
function rowAfter(row: u32, block: u32, k: u32, perRow: u32): u32 {
  return row + (block + k) / perRow;
}

/** That block's place in its row. */
// @ts-ignore: decorator
@inline
function blockAfter(block: u32, k: u32, perRow: u32): u32 {
  return (block + k) % perRow;
}

/**
 * Rows firstLo .. firstLo+rows-1 (high word rowHi) of the uniform init, `dim` floats each, one
 * after another at `out`: what uniformRow writes for each row, bit for bit, where `dim` is a
 * multiple of 4. Then a row's blocks are whole, and block c of the run (row c / (dim/4), block
 * c % (dim/4)) lands at float 4c, so blocks are drawn eight at a time across row ends, as two
 * independent chains of four (one chain's multiplies wait on the previous round's; two keep
 * the multiplier busy). The last, partial group goes through `scratch` (128 bytes).
 * firstLo + rows must not pass 2^32.
 */
export function uniformRows(
  k0: u32,
  k1: u32,
  firstLo: u32,
  rowHi: u32,
  rows: i32,
  tag: u32,
  dim: i32,
  a: f64,
  width: f64,
  out: usize,
  scratch: usize,
): void {
  const perRow = <u32>(dim >>> 2);
  const total = rows * <i32>perRow;
  const va = f64x2.splat(a);
  const vw = f64x2.splat(width);
  const unit = f64x2.splat(1.0 / 4294967296.0);
  const m0 = i32x4.splat(M0);
  const m1 = i32x4.splat(M1);
  const hi = i32x4.splat(rowHi);
  const tags = i32x4.splat(tag);
  let row = firstLo;
  let block: u32 = 0;
  for (let c = 0; c < total; c += 8) {
    // Lane i of chain A is block c+i of the run, of chain B block c+4+i: (row, block in row).
    let rowsA = i32x4.splat(row);
    let blocksA = i32x4.splat(block);
    let rowsB = rowsA;
    let blocksB = blocksA;
    if (block + 8 <= perRow) {
      blocksA = i32x4.add(blocksA, i32x4(0, 1, 2, 3));
      blocksB = i32x4.add(blocksB, i32x4(4, 5, 6, 7));
      block += 8;
      if (block === perRow) {
        block = 0;
        row++;
      }
    } else {
      // The group crosses a row's end: each lane's place from the group's first.
      rowsA = i32x4.replace_lane(rowsA, 1, rowAfter(row, block, 1, perRow));
      rowsA = i32x4.replace_lane(rowsA, 2, rowAfter(row, block, 2, perRow));
      rowsA = i32x4.replace_lane(rowsA, 3, rowAfter(row, block, 3, perRow));
      blocksA = i32x4.replace_lane(blocksA, 1, blockAfter(block, 1, perRow));
      blocksA = i32x4.replace_lane(blocksA, 2, blockAfter(block, 2, perRow));
      blocksA = i32x4.replace_lane(blocksA, 3, blockAfter(block, 3, perRow));
      rowsB = i32x4.splat(rowAfter(row, block, 4, perRow));
      rowsB = i32x4.replace_lane(rowsB, 1, rowAfter(row, block, 5, perRow));
      rowsB = i32x4.replace_lane(rowsB, 2, rowAfter(row, block, 6, perRow));
      rowsB = i32x4.replace_lane(rowsB, 3, rowAfter(row, block, 7, perRow));
      blocksB = i32x4.splat(blockAfter(block, 4, perRow));
      blocksB = i32x4.replace_lane(blocksB, 1, blockAfter(block, 5, perRow));
      blocksB = i32x4.replace_lane(blocksB, 2, blockAfter(block, 6, perRow));
      blocksB = i32x4.replace_lane(blocksB, 3, blockAfter(block, 7, perRow));
      row = rowAfter(row, block, 8, perRow);
      block = blockAfter(block, 8, perRow);
    }
    let a0 = rowsA;
    let a1 = hi;
    let a2 = blocksA;
    let a3 = tags;
    let b0 = rowsB;
    let b1 = hi;
    let b2 = blocksB;
    let b3 = tags;
    let key0 = k0;
    let key1 = k1;
    for (let round = 0; round < 10; round++) {
      const kk0 = i32x4.splat(key0);
      const kk1 = i32x4.splat(key1);
      // Each 64-bit product once: its high words are Philox's mulhi, its low words the mullo.
      const pa0l = i64x2.extmul_low_i32x4_u(m0, a0);
      const pa0h = i64x2.extmul_high_i32x4_u(m0, a0);
      const pb0l = i64x2.extmul_low_i32x4_u(m0, b0);
      const pb0h = i64x2.extmul_high_i32x4_u(m0, b0);
      const pa1l = i64x2.extmul_low_i32x4_u(m1, a2);
      const pa1h = i64x2.extmul_high_i32x4_u(m1, a2);
      const pb1l = i64x2.extmul_low_i32x4_u(m1, b2);
      const pb1h = i64x2.extmul_high_i32x4_u(m1, b2);
      const na0 = v128.xor(v128.xor(v128.shuffle<u32>(pa1l, pa1h, 1, 3, 5, 7), a1), kk0);
      const nb0 = v128.xor(v128.xor(v128.shuffle<u32>(pb1l, pb1h, 1, 3, 5, 7), b1), kk0);
      a1 = v128.shuffle<u32>(pa1l, pa1h, 0, 2, 4, 6);
      b1 = v128.shuffle<u32>(pb1l, pb1h, 0, 2, 4, 6);
      const na2 = v128.xor(v128.xor(v128.shuffle<u32>(pa0l, pa0h, 1, 3, 5, 7), a3), kk1);
      const nb2 = v128.xor(v128.xor(v128.shuffle<u32>(pb0l, pb0h, 1, 3, 5, 7), b3), kk1);
      a3 = v128.shuffle<u32>(pa0l, pa0h, 0, 2, 4, 6);
      b3 = v128.shuffle<u32>(pb0l, pb0h, 0, 2, 4, 6);
      a0 = na0;
      b0 = nb0;
      a2 = na2;
      b2 = nb2;
      key0 += W0;
      key1 += W1;
    }
    if (c + 8 <= total) {
      const at = out + (<usize>c << 4);
      storeUniformFour(a0, a1, a2, a3, va, vw, unit, at);
      storeUniformFour(b0, b1, b2, b3, va, vw, unit, at + 64);
    } else {
      storeUniformFour(a0, a1, a2, a3, va, vw, unit, scratch);
      storeUniformFour(b0, b1, b2, b3, va, vw, unit, scratch + 64);
      memory.copy(out + (<usize>c << 4), scratch, <usize>(total - c) << 4);
    }
  }
}
