import { instantiateKernels, type KernelExports } from './kernel-module.js';

const PAGE_BYTES = 65536;
/** wasm32: at most 4 GiB of linear memory per instance. */
const MAX_MEMORY_BYTES = 65536 * PAGE_BYTES;
const ALIGN = 16;

/** Raised when a KernelMemory cannot grow to hold what is asked (4 GiB per instance). */
export class KernelMemoryFull extends Error {
  constructor(readonly wantedBytes: number) {
    super(`kernel memory is full: ${wantedBytes} more bytes would pass the 4 GiB of a WebAssembly instance`);
    this.name = 'KernelMemoryFull';
  }
}

/**
 * One instance of the kernels with a linear memory of its own, and an allocator over it.
 * Callers hold byte offsets, not views: growing the memory detaches every view into it, so
 * views (`f32`, `i32`, `u32`) are made on demand and must not be kept across an `alloc`.
 *
 * The allocator bumps a top pointer and keeps freed blocks in exact-size free lists:
 * callers allocate a few sizes over and over (row pages, power-of-two scratch blocks), so
 * blocks are reused rather than fragmented. A block freed at the top lowers the top instead
 * (a step arena's region, given back to grow, is reused from its start). Every block is
 * 16-byte aligned (SIMD loads).
 */
export class KernelMemory {
  readonly exports: KernelExports;
  private top: number;
  /** Memory at and above this offset has never been handed out: it is still zero. */
  private highWater: number;
  private readonly freeBlocks = new Map<number, number[]>();
  private f32View: Float32Array;

  constructor(initialBytes = 1 << 20) {
    this.exports = instantiateKernels();
    this.top = align(this.exports.heapBase());
    this.highWater = this.top;
    this.ensure(initialBytes);
    this.f32View = new Float32Array(this.exports.memory.buffer);
  }

  get buffer(): ArrayBuffer {
    return this.exports.memory.buffer;
  }

  /** Grows the memory so that [0, end) exists. */
  private ensure(end: number): void {
    const have = this.exports.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > MAX_MEMORY_BYTES) throw new KernelMemoryFull(end - have);
    // Grow by at least a quarter of what is there: fewer grows, fewer detached views.
    const want = Math.min(MAX_MEMORY_BYTES, Math.max(end, have + (have >> 2)));
    try {
      this.exports.memory.grow(Math.ceil((want - have) / PAGE_BYTES));
    } catch {
      throw new KernelMemoryFull(end - have);
    }
  }

  /** A block of at least `bytes`, 16-byte aligned, zeroed unless `zeroed` is false. Returns its byte offset. */
  alloc(bytes: number, zeroed = true): number {
    const size = align(Math.max(bytes, ALIGN));
    const reuse = this.freeBlocks.get(size);
    if (reuse && reuse.length > 0) {
      const at = reuse.pop() as number;
      if (zeroed) new Uint8Array(this.exports.memory.buffer, at, size).fill(0);
      return at;
    }
    const at = this.top;
    this.ensure(at + size);
    this.top = at + size;
    // Below the high-water mark the memory was used before (the top was lowered).
    if (zeroed && at < this.highWater)
      new Uint8Array(this.exports.memory.buffer, at, Math.min(size, this.highWater - at)).fill(0);
    this.highWater = Math.max(this.highWater, this.top);
    return at;
  }

  /** Returns a block from alloc(bytes) for reuse. */
  release(offset: number, bytes: number): void {
    const size = align(Math.max(bytes, ALIGN));
    if (offset + size === this.top) {
      this.top = offset;
      return;
    }
    const list = this.freeBlocks.get(size);
    if (list) list.push(offset);
    else this.freeBlocks.set(size, [offset]);
  }

  private refresh(): void {
    if (this.f32View.buffer === this.exports.memory.buffer) return;
    this.f32View = new Float32Array(this.exports.memory.buffer);
  }

  /** The whole memory as floats (index = byte offset / 4); valid until the next alloc. */
  get heapF32(): Float32Array {
    this.refresh();
    return this.f32View;
  }

  /** A Float32Array view of `length` floats at byte `offset`; valid until the next alloc. */
  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, offset, length);
  }

  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.exports.memory.buffer, offset, length);
  }

  u32(offset: number, length: number): Uint32Array {
    return new Uint32Array(this.exports.memory.buffer, offset, length);
  }

  /** Whether `view` lies in this memory (so a kernel can use it in place). */
  holds(view: ArrayBufferView): boolean {
    return view.buffer === this.exports.memory.buffer;
  }
}

function align(n: number): number {
  // Arithmetic, not bit masks: offsets pass 2^31 in a large memory.
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** The power of two at or above n (scratch blocks come in few sizes, so they are reused). */
export function sizeClass(bytes: number): number {
  let size = 256;
  while (size < bytes) size *= 2;
  return size;
}
