export * from './id-tree.js';
export * from './js-kernels.js';
export * from './kernel-memory.js';
export type { KernelExports } from './kernel-module.js';
export * from './kernels.js';
export * from './optimizer-rows.js';
export * from './row-init.js';
export * from './step-arena.js';
export * from './wasm-kernels.js';
