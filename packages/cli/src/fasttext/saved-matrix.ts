import { DenseMatrix, type RowBlockMatrix } from '@rowshard/core';
import type { SavedRows } from '../checkpoint-reader.js';

/**
 * A checkpoint's table as a fastText matrix, without it ever being whole in memory: a row is
 * its saved values or, for one training never touched, its deterministic init. A supervised
 * model's input matrix has millions of rows (-bucket 2,000,000 × -dim 100 is 800 MB) of which
 * training touches a tenth; its model file is written a block of rows at a time from here.
 */
export class SavedRowsMatrix implements RowBlockMatrix {
  readonly rows: number;
  readonly cols: number;
  /** One row, for lookups: the arithmetic is DenseMatrix's. */
  private readonly scratch: DenseMatrix;

  constructor(private readonly saved: SavedRows) {
    this.rows = saved.spec.numEmbeddings;
    this.cols = saved.spec.embeddingDim;
    this.scratch = new DenseMatrix(1, this.cols, new Float32Array(this.cols));
  }

  fillRows(first: number, count: number, out: Float32Array): void {
    this.saved.fillRows(first, count, out);
  }

  addRowToVector(x: Float32Array, i: number, a = 1): void {
    this.saved.row(i, this.scratch.data, 0);
    this.scratch.addRowToVector(x, 0, a);
  }

  dotRow(x: Float32Array, i: number): number {
    this.saved.row(i, this.scratch.data, 0);
    return this.scratch.dotRow(x, 0);
  }

  /** The whole matrix in memory (a small table: an output matrix). */
  toDense(): DenseMatrix {
    const data = new Float32Array(this.rows * this.cols);
    this.fillRows(0, this.rows, data);
    return new DenseMatrix(this.rows, this.cols, data);
  }
}
