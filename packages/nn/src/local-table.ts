import { initDenseTable, renormRow, type TableSpec } from '@rowshard/core';
import type { RowSource } from './row-source.js';

/** A sparse gradient: distinct-or-not ids and their rows, row-major [ids.length, dim]. */
export interface SparseGrad {
  readonly ids: Float64Array;
  readonly rows: Float32Array;
}

/**
 * A whole table in one Float32Array: single-process mode, tests, and the reference the
 * distributed path is checked against. Gradients from several lookups in one step (weight
 * sharing) are kept apart until `takeGrad` joins them for one optimizer step.
 */
export class LocalTable implements RowSource {
  readonly spec: TableSpec;
  readonly weights: Float32Array;
  trainable: boolean;
  private pending: SparseGrad[] = [];

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

  fetchRows(uniqueIds: Float64Array): Float32Array {
    const dim = this.spec.embeddingDim;
    const { maxNorm, normType } = this.spec;
    const out = new Float32Array(uniqueIds.length * dim);
    for (let i = 0; i < uniqueIds.length; i++) {
      const at = uniqueIds[i] * dim;
      if (maxNorm !== null) renormRow(this.weights, at, dim, maxNorm, normType);
      out.set(this.weights.subarray(at, at + dim), i * dim);
    }
    return out;
  }

  addSparseGrad(ids: Float64Array, rows: Float32Array): void {
    if (ids.length > 0) this.pending.push({ ids, rows });
  }

  /** The gradient accumulated since the last call (ids may repeat across lookups), or null. */
  takeGrad(): SparseGrad | null {
    const parts = this.pending;
    this.pending = [];
    if (parts.length === 0) return null;
    if (parts.length === 1) return parts[0];
    const n = parts.reduce((a, p) => a + p.ids.length, 0);
    const ids = new Float64Array(n);
    const rows = new Float32Array(n * this.spec.embeddingDim);
    let at = 0;
    for (const p of parts) {
      ids.set(p.ids, at);
      rows.set(p.rows, at * this.spec.embeddingDim);
      at += p.ids.length;
    }
    return { ids, rows };
  }

  row(id: number): Float32Array {
    const dim = this.spec.embeddingDim;
    return this.weights.subarray(id * dim, (id + 1) * dim);
  }
}
