// Philox4x32-10's multipliers and Weyl key increments (Salmon et al., SC'11), as
// packages/core/src/rng.ts has them: for random.ts and row-init.ts, not exported by the module.
export const M0: u32 = 0xd2511f53;
export const M1: u32 = 0xcd9e8d57;
export const W0: u32 = 0x9e3779b9;
export const W1: u32 = 0xbb67ae85;
