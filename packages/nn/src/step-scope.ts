import { jsKernels, type Kernels, type StepArena, WasmKernels } from '@rowshard/kernels';

/**
 * Where a forward and backward pass allocate and which kernels they run. Outside a step
 * scope: ordinary Float32Arrays and the JavaScript kernels (tests, tools, one-off
 * predictions). Inside `inStep(arena, fn)`: arrays from the step arena, in WebAssembly memory,
 * and the WebAssembly SIMD kernels working on them in place; nothing is left for the garbage
 * collector. A scope is synchronous (forward and backward run without awaiting), so this
 * per-thread state is never seen by two steps at once. Arrays from a scope live until the
 * arena's next step.
 */
let currentArena: StepArena | null = null;
let current: Kernels = jsKernels;
const wasmFor = new WeakMap<StepArena, WasmKernels>();

/** Begins a step in `arena` (every array of its previous step is dead) and runs `fn` in it. */
export function inStep<T>(arena: StepArena, fn: () => T): T {
  arena.beginStep();
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

/** `n` floats with undefined contents, for an array the caller overwrites whole before reading it. */
export function allocF32Unzeroed(n: number): Float32Array {
  return currentArena ? currentArena.f32Unzeroed(n) : new Float32Array(n);
}

export function allocI32(n: number): Int32Array {
  return currentArena ? currentArena.i32(n) : new Int32Array(n);
}

/**
 * `a` where the current scope's kernels work on it in place: inside a step, an array from
 * outside the arena is copied in once (the kernels would otherwise stage it on every call);
 * outside a step, `a` itself.
 */
export function inStepMemory<T extends Float32Array | Int32Array>(a: T): T {
  if (!currentArena || currentArena.holds(a)) return a;
  const copy = (a instanceof Float32Array ? currentArena.f32(a.length) : currentArena.i32(a.length)) as T;
  copy.set(a);
  return copy;
}
