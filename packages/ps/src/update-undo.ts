import { sizeClass } from '@rowshard/kernels';
import type { RowStore } from './row-store.js';

interface Saved {
  readonly store: RowStore;
  readonly rows: number;
  /** Block holding the rows' byte offsets, then each row's weights and optimizer slots as they were. */
  readonly block: number;
  readonly bytes: number;
}

/**
 * The rows a request's updates are about to touch, as they were, kept until the whole request
 * is known to have left every row and slot finite (docs/ARCHITECTURE.md, "Failure model"): a
 * finite gradient can still overflow a row (3e38 at lr 10) or an Adagrad/Adam accumulator,
 * and such a request is refused whole, every table it touched put back. Weights and slots sit
 * side by side in a slot's row, so each saved row is one contiguous copy in the shard's memory.
 */
export class UpdateUndo {
  private readonly saved: Saved[] = [];

  /**
   * A block for `rows` rows of `store` whose byte offsets are the u32s at `offs`: the offsets
   * are copied in, and the returned address is where the optimizer kernel saves each row as
   * it was (its `save` argument). Allocates: views taken before this call are stale after it.
   */
  reserve(store: RowStore, rows: number, offs: number): number {
    const memory = store.memory;
    const width = store.dim + store.stateFloats;
    const bytes = sizeClass(4 * rows * (1 + width));
    const block = memory.alloc(bytes, false);
    memory.u32(block, rows).set(memory.u32(offs, rows));
    this.saved.push({ store, rows, block, bytes });
    return block + 4 * rows;
  }

  /** Puts every saved row back, latest first (a request may touch a row twice). */
  rollback(): void {
    for (let i = this.saved.length - 1; i >= 0; i--) {
      const { store, rows, block } = this.saved[i];
      store.memory.exports.scatterRows(rows, store.dim + store.stateFloats, block + 4 * rows, block);
    }
  }

  /** Frees the saved copies (after a commit or a rollback). */
  release(): void {
    for (let i = this.saved.length - 1; i >= 0; i--) {
      const { store, block, bytes } = this.saved[i];
      store.memory.release(block, bytes);
    }
    this.saved.length = 0;
  }
}
