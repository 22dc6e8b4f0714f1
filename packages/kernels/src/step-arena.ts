import { KernelMemory } from './kernel-memory.js';

const MIN_REGION_BYTES = 1 << 20;

/**
 * Memory for one training step's arrays (activations, gradients, the pulled rows), in a
 * region of a KernelMemory so the WebAssembly kernels work on them in place. Allocation bumps
 * a pointer; `beginStep` forgets everything at once, so a step allocates no JavaScript typed
 * arrays (no garbage, no external-memory GCs) once the region has its size.
 *
 * The memory grows only in `beginStep`, between steps: growing detaches every view into it,
 * and mid-step the step's own arrays are such views. A step that outgrows the region gets
 * ordinary Float32Arrays for the rest (kernels then stage or fall back to JavaScript), and
 * the next `beginStep` makes the region large enough. Views handed out are valid until the
 * next `beginStep`.
 */
export class StepArena {
  readonly memory: KernelMemory;
  private base: number;
  private size: number;
  private top: number;
  private overflowBytes = 0;

  constructor(initialBytes = 8 << 20) {
    this.size = Math.max(MIN_REGION_BYTES, initialBytes);
    this.memory = new KernelMemory(this.size + (1 << 16));
    this.base = this.memory.alloc(this.size);
    this.top = this.base;
  }

  /** Bytes the region holds. */
  get regionBytes(): number {
    return this.size;
  }

  /** Starts a step: every view from the previous one is dead. Grows the region if it was outgrown. */
  beginStep(): void {
    if (this.overflowBytes > 0) {
      const used = this.top - this.base + this.overflowBytes;
      this.memory.release(this.base, this.size);
      this.size = Math.ceil((used * 1.25) / 65536) * 65536;
      this.base = this.memory.alloc(this.size);
    }
    this.top = this.base;
    this.overflowBytes = 0;
  }

  /** A byte offset of `bytes` (16-aligned) inside the region, or -1 when it is full. */
  tryAlloc(bytes: number): number {
    const size = Math.ceil(bytes / 16) * 16;
    if (this.top + size > this.base + this.size) {
      this.overflowBytes += size;
      return -1;
    }
    const at = this.top;
    this.top += size;
    return at;
  }

  /** `n` zeroed floats: in the region, or an ordinary array when the step outgrew it. */
  f32(n: number): Float32Array {
    return this.zeroed(n, Float32Array);
  }

  i32(n: number): Int32Array {
    return this.zeroed(n, Int32Array);
  }

  /**
   * `n` floats holding whatever an earlier step left there: for an array the caller
   * overwrites whole before reading (a step's pulled rows, hundreds of KiB that f32 would
   * zero only to be copied over).
   */
  f32Unzeroed(n: number): Float32Array {
    const at = this.tryAlloc(n * 4);
    if (at < 0) return new Float32Array(n);
    return new Float32Array(this.memory.buffer, at, n);
  }

  private zeroed<T extends Float32Array | Int32Array>(n: number, Kind: new (buffer: ArrayBuffer, at: number, n: number) => T): T {
    const at = this.tryAlloc(n * 4);
    if (at < 0) return new Kind(new ArrayBuffer(n * 4), 0, n);
    const view = new Kind(this.memory.buffer, at, n);
    view.fill(0);
    return view;
  }

  /** Where temporaries start; `release(mark)` gives back everything allocated after it. */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  holds(view: ArrayBufferView): boolean {
    return this.memory.holds(view);
  }
}
