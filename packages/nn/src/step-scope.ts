import { jsKernels, type Kernels, type StepArena, WasmKernels } from '@rowshard/kernels';

/**
 * Where a forward and backward pass allocate and which kernels they run. Outside a step
 * scope: ordinary Float32Arrays and the JavaScript kernels (tests, tools, one-off
 * predictions). Inside `inStep(arena, fn)`: arrays from the step arena, in WebAssembly memory,
 * and the WebAssembly SIMD kernels working on them in place; nothing is left for the garbage
 * collector. A scope is synchronous (forward and backward run without awaiting), so this
 * per-thread state is never seen by two steps at once. Arrays from a scope live until the
 * arena's next beginStep.
 */
let currentArena: StepArena | null = null;
let current: Kernels = jsKernels;
const wasmFor = new WeakMap<StepArena, WasmKernels>();

export function inStep<T>(arena: StepArena, fn: () => T): T {
  const previous = { arena: currentArena, kernels: current };
  let kernels = wasmFor.get(arena);
  if (!kernels) {
    kernels = new WasmKernels(arena);
    wasmFor.set(arena, kernels);
  }
  currentArena = arena;
  current = kernels;
  try {
    return fn();
  } finally {
    currentArena = previous.arena;
    current = previous.kernels;
  }
}

/** The kernels of the current scope. */
export function kernels(): Kernels {
  return current;
}

/** `n` zeroed floats for a tensor or a gradient. */
export function allocF32(n: number): Float32Array {
  return currentArena ? currentArena.f32(n) : new Float32Array(n);
}

export function allocI32(n: number): Int32Array {
  return currentArena ? currentArena.i32(n) : new Int32Array(n);
}
