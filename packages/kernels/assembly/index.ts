// rowshard's WebAssembly kernels (AssemblyScript, SIMD). Memory is laid out by the host: every
// pointer is a byte offset into this module's memory, chosen by packages/kernels/src. No
// allocation, no runtime: the module is a set of loops.
export * from './bag';
export * from './elementwise';
export * from './id-tree';
export * from './linear';
export * from './optimizers';
export * from './random';
export * from './row-init';
export * from './rows';

/** First byte the host may use (above the module's static data). */
export function heapBase(): usize {
  return __heap_base;
}
