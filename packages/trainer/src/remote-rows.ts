import type { RowIds, TableSpec } from '@rowshard/core';
import { type BagOrder, inStepMemory, type RowLookup, type RowSource } from '@rowshard/nn';
import type { TableRouting } from './step-routing.js';

/**
 * A table as one step's forward sees it on a trainer: the rows pulled for this batch, in the
 * routing's by-shard layout, and one gradient matrix in the same layout that every lookup of
 * the table (weight sharing included) adds into. A lookup of a list the routing was built
 * from reads its precomputed rows: no dedupe, no copy of rows. After backward, the gradient matrix
 * is the push: each shard's slice, as is.
 */
export class RemoteRows implements RowSource {
  /** Lists whose gradient flowed, and rows marked one by one (lookups of other ids). */
  private readonly flowedLists = new Set<RowIds>();
  private touched: Uint8Array | null = null;

  constructor(
    readonly routing: TableRouting,
    /** [routing.rows, dim], by shard. */
    readonly rows: Float32Array,
    /** Same layout; null when the table takes no gradient this step. */
    readonly grad: Float32Array | null,
    /** How its bag ops add a bag's rows (RowSource.bagOrder): the id tree in BSP (WorkerStep). */
    readonly bagOrder: BagOrder = 'positions',
  ) {}

  get spec(): TableSpec {
    return this.routing.spec;
  }

  get trainable(): boolean {
    return this.grad !== null;
  }

  lookup(indices: RowIds): RowLookup {
    const known = this.routing.rowsOf(indices);
    // The routing was made before the step: its index arrays are copied into step memory once here.
    const rowOf = inStepMemory(known ?? this.routing.rowsOfOther(indices));
    return {
      rows: this.rows,
      rowOf,
      grad: this.grad,
      gradientFlowed: () => {
        if (known) this.flowedLists.add(indices);
        else {
          this.touched ??= new Uint8Array(this.routing.rows);
          for (let p = 0; p < rowOf.length; p++) this.touched[rowOf[p]] = 1;
        }
      },
    };
  }

  /**
   * Which rows this step's gradient covers: null when it is every row (each list the routing
   * was built from had its gradient flow, and the rows are their union), otherwise a mask.
   */
  gradientRows(): Uint8Array | null | 'none' {
    let all = true;
    for (const [list] of this.routing.lists()) if (!this.flowedLists.has(list)) all = false;
    if (all && this.flowedLists.size > 0) return null;
    if (this.flowedLists.size === 0 && this.touched === null) return 'none';
    const mask = this.touched ?? new Uint8Array(this.routing.rows);
    for (const [list, rowOf] of this.routing.lists()) {
      if (!this.flowedLists.has(list)) continue;
      for (let p = 0; p < rowOf.length; p++) mask[rowOf[p]] = 1;
    }
    return mask;
  }
}
