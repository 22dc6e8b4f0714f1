// Row loops the kernels share, inlined where they are called: four floats at a time, then the
// tail one by one. Not exported from the module (index.ts leaves this file out).

/** dst[0 .. floats) = src[0 .. floats). */
// @ts-expect-error: decorator
@inline
export function copyFloats(src: usize, dst: usize, floats: i32): void {
  const bytes = (<usize>floats) << 2;
  const vec = bytes & ~15;
  let o: usize = 0;
  for (; o < vec; o += 16) v128.store(dst + o, v128.load(src + o));
  for (; o < bytes; o += 4) store<f32>(dst + o, load<f32>(src + o));
}

/** dst[0 .. floats) += src[0 .. floats), float32 adds. */
// @ts-expect-error: decorator
@inline
export function addFloats(src: usize, dst: usize, floats: i32): void {
  const bytes = (<usize>floats) << 2;
  const vec = bytes & ~15;
  let o: usize = 0;
  for (; o < vec; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  for (; o < bytes; o += 4) store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
}
