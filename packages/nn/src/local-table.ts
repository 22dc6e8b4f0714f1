import { copyRow, dedupeIds, initDenseTable, type RowIds, renormRow, type TableSpec } from '@rowshard/core';
import type { RowLookup, RowSource } from './row-source.js';
import { validateIndices } from './row-source.js';
import { allocF32 } from './step-scope.js';

/** A sparse gradient: distinct-or-not ids and their rows, row-major [ids.length, dim]. */
export interface SparseGrad {
  readonly ids: Float64Array;
  readonly rows: Float32Array;
}

/**
 * A whole table in one Float32Array: single-process mode, tests, and the reference the
 * distributed path is checked against. Each lookup gets the distinct rows it reads and a
 * gradient matrix of its own; gradients from several lookups in one step (weight sharing)
 * are kept apart until `takeGrad` joins them for one optimizer step.
 */
export class LocalTable implements RowSource {
  readonly spec: TableSpec;
  readonly weights: Float32Array;
  trainable: boolean;
  /** Gradients of the lookups whose gradient flowed, with their lookup's number. */
  private pending: { grad: SparseGrad; order: number }[] = [];
  private lookups = 0;

  constructor(spec: TableSpec, weights: Float32Array) {
    if (weights.length !== spec.numEmbeddings * spec.embeddingDim) {
      throw new RangeError(
        `table '${spec.name}' is [${spec.numEmbeddings}, ${spec.embeddingDim}] but ${weights.length} values were given`,
      );
    }
    this.spec = spec;
    this.weights = weights;
    this.trainable = !spec.frozen;
  }

  /** A table initialised from the job seed with the deterministic per-row init. */
  static initialised(spec: TableSpec, seed: number): LocalTable {
    return new LocalTable(spec, initDenseTable(spec, seed));
  }

  lookup(ids: RowIds): RowLookup {
    validateIndices(this.spec, ids);
    // A dense table: validateIndices refused 64-bit ids.
    const indices = ids as ArrayLike<number>;
    const dim = this.spec.embeddingDim;
    const { maxNorm, normType } = this.spec;
    const { unique, inverse } = dedupeIds(indices);
    const rows = allocF32(unique.length * dim);
    for (let i = 0; i < unique.length; i++) {
      const at = unique[i] * dim;
      if (maxNorm !== null) renormRow(this.weights, at, dim, maxNorm, normType);
      copyRow(this.weights, at, rows, i * dim, dim);
    }
    if (!this.trainable) return { rows, rowOf: inverse, grad: null, gradientFlowed() {} };
    const entry = { grad: { ids: unique, rows: allocF32(unique.length * dim) }, order: this.lookups++ };
    let flowed = false;
    return {
      rows,
      rowOf: inverse,
      grad: entry.grad.rows,
      // Only lookups whose gradient flowed join the step's gradient; the others leave nothing behind.
      gradientFlowed: () => {
        if (flowed) return;
        flowed = true;
        this.pending.push(entry);
      },
    };
  }

  /**
   * The gradient accumulated since the last call, the padding row left out (it never
   * changes), ids possibly repeated across lookups; null when nothing was looked up.
   */
  takeGrad(): SparseGrad | null {
    // In lookup order (backward reaches them in reverse): duplicate rows sum in that order.
    const parts = this.pending.sort((a, b) => a.order - b.order).map((p) => p.grad);
    this.pending = [];
    this.lookups = 0;
    if (parts.length === 0) return null;
    const dim = this.spec.embeddingDim;
    const pad = this.spec.paddingIdx;
    let n = 0;
    for (const p of parts) for (let i = 0; i < p.ids.length; i++) if (p.ids[i] !== pad) n++;
    // One lookup and no padding row in it: its gradient as it stands.
    if (parts.length === 1 && n === parts[0].ids.length) return parts[0];
    const ids = new Float64Array(n);
    const rows = new Float32Array(n * dim);
    let at = 0;
    for (const p of parts) {
      for (let i = 0; i < p.ids.length; i++) {
        if (p.ids[i] === pad) continue;
        ids[at] = p.ids[i];
        copyRow(p.rows, i * dim, rows, at * dim, dim);
        at++;
      }
    }
    return { ids, rows };
  }

  row(id: number): Float32Array {
    const dim = this.spec.embeddingDim;
    return this.weights.subarray(id * dim, (id + 1) * dim);
  }
}
