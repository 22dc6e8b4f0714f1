import { dedupeIds, initDenseTable, renormRow, type TableSpec } from '@rowshard/core';
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
  private pending: (SparseGrad & { flowed: boolean })[] = [];

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

  lookup(indices: ArrayLike<number>): RowLookup {
    validateIndices(this.spec, indices);
    const dim = this.spec.embeddingDim;
    const { maxNorm, normType } = this.spec;
    const { unique, inverse } = dedupeIds(indices);
    const rows = allocF32(unique.length * dim);
    for (let i = 0; i < unique.length; i++) {
      const at = unique[i] * dim;
      if (maxNorm !== null) renormRow(this.weights, at, dim, maxNorm, normType);
      rows.set(this.weights.subarray(at, at + dim), i * dim);
    }
    if (!this.trainable) return { rows, rowOf: inverse, grad: null, gradientFlowed() {} };
    const entry = { ids: unique, rows: allocF32(unique.length * dim), flowed: false };
    this.pending.push(entry);
    return {
      rows,
      rowOf: inverse,
      grad: entry.rows,
      gradientFlowed() {
        entry.flowed = true;
      },
    };
  }

  /**
   * The gradient accumulated since the last call, the padding row left out (it never
   * changes), ids possibly repeated across lookups; null when nothing was looked up.
   */
  takeGrad(): SparseGrad | null {
    const parts = this.pending.filter((p) => p.flowed);
    this.pending = [];
    if (parts.length === 0) return null;
    const dim = this.spec.embeddingDim;
    const pad = this.spec.paddingIdx;
    let n = 0;
    for (const p of parts) for (let i = 0; i < p.ids.length; i++) if (p.ids[i] !== pad) n++;
    const ids = new Float64Array(n);
    const rows = new Float32Array(n * dim);
    let at = 0;
    for (const p of parts) {
      for (let i = 0; i < p.ids.length; i++) {
        if (p.ids[i] === pad) continue;
        ids[at] = p.ids[i];
        rows.set(p.rows.subarray(i * dim, (i + 1) * dim), at * dim);
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
