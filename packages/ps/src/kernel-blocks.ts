import { type KernelMemory, KernelMemoryFull, sizeClass } from '@rowshard/kernels';

/** Blocks of a shard's memory taken for one kernel call: their byte offsets, and how to give them back. */
export interface KernelBlocks {
  readonly at: readonly number[];
  release(): void;
}

/**
 * Blocks of the shard's memory for one kernel call, `bytes` each (rounded up to a size class;
 * zeroed where `zeroed` says), or null where the memory has no room for them all (none is kept
 * then: a memory at its 4 GiB), and the caller does the work in JavaScript instead.
 */
export function kernelBlocks(
  memory: KernelMemory,
  bytes: readonly number[],
  zeroed: readonly boolean[] = [],
): KernelBlocks | null {
  const taken: [number, number][] = [];
  // Latest first: a block at the top lowers the top.
  const release = () => {
    for (const [at, size] of taken.reverse()) memory.release(at, size);
  };
  try {
    for (const [i, b] of bytes.entries()) {
      const size = sizeClass(b);
      taken.push([memory.alloc(size, zeroed[i] ?? false), size]);
    }
  } catch (e) {
    release();
    if (e instanceof KernelMemoryFull) return null;
    throw e;
  }
  return { at: taken.map(([at]) => at), release };
}
