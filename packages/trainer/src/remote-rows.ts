import { copyRow, ErrorCodes, IdIndex, RowshardError, type TableSpec } from '@rowshard/core';
import type { RowSource } from '@rowshard/nn';

/**
 * A table as one step's forward sees it on a trainer: the rows pulled for this batch's
 * distinct ids. Gradients from every lookup of the table (weight sharing included) are kept
 * and handed to the push; the PS client sums duplicates.
 */
export class RemoteRows implements RowSource {
  private readonly index: IdIndex;
  private readonly gradIds: Float64Array[] = [];
  private readonly gradRows: Float32Array[] = [];

  constructor(
    readonly spec: TableSpec,
    readonly trainable: boolean,
    private readonly ids: Float64Array,
    private readonly rows: Float32Array,
  ) {
    this.index = new IdIndex(ids);
  }

  fetchRows(uniqueIds: Float64Array): Float32Array {
    // A lookup over exactly the batch's ids dedupes them into the order they were pulled in:
    // then the pulled rows are the answer as they stand, with no copy.
    if (sameIds(uniqueIds, this.ids)) return this.rows;
    const dim = this.spec.embeddingDim;
    const out = new Float32Array(uniqueIds.length * dim);
    for (let i = 0; i < uniqueIds.length; i++) {
      const at = this.index.indexOf(uniqueIds[i]);
      if (at < 0) {
        throw new RowshardError(
          ErrorCodes.BAD_REQUEST,
          `table '${this.spec.name}': forward looked up row ${uniqueIds[i]}, which rowsNeeded() did not list for this batch`,
        );
      }
      copyRow(this.rows, at * dim, out, i * dim, dim);
    }
    return out;
  }

  addSparseGrad(ids: Float64Array, rows: Float32Array): void {
    this.gradIds.push(ids);
    this.gradRows.push(rows);
  }

  /** Every gradient recorded this step, joined (ids may repeat), scaled by `scale`. */
  takeGrad(scale: number): { ids: Float64Array; grads: Float32Array } | null {
    if (this.gradIds.length === 0) return null;
    if (this.gradIds.length === 1) {
      // One lookup: its gradient buffer is ours alone, so scale it in place.
      const grads = this.gradRows[0];
      if (scale !== 1) for (let i = 0; i < grads.length; i++) grads[i] *= scale;
      return { ids: this.gradIds[0], grads };
    }
    const n = this.gradIds.reduce((a, x) => a + x.length, 0);
    const ids = new Float64Array(n);
    const grads = new Float32Array(n * this.spec.embeddingDim);
    let at = 0;
    for (let k = 0; k < this.gradIds.length; k++) {
      ids.set(this.gradIds[k], at);
      const src = this.gradRows[k];
      const base = at * this.spec.embeddingDim;
      for (let i = 0; i < src.length; i++) grads[base + i] = src[i] * scale;
      at += this.gradIds[k].length;
    }
    return { ids, grads };
  }
}

function sameIds(a: Float64Array, b: Float64Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
