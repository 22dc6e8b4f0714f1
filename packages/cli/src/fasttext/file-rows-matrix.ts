import { DenseMatrix, ErrorCodes, type FastTextMatrix, RowshardError } from '@rowshard/core';
import { readAt } from './read-at.js';

/**
 * A model file's input matrix, its rows read from the file as they are asked for and kept: a
 * `rowshard test` or `predict` on a few thousand lines reads a few tens of thousands of the 2M
 * rows (800 MB at fastText's defaults), where loading the whole matrix took most of its time
 * and memory. Past `wholeAfter` rows read one by one, the rest of the matrix is read in one
 * go and served from memory, so that a long input costs at most about twice the whole read.
 * The arithmetic is DenseMatrix's, on the same float32 values.
 */
export class FileRowsMatrix implements FastTextMatrix {
  private readonly cache = new Map<number, DenseMatrix>();
  private whole: DenseMatrix | null = null;

  constructor(
    private readonly fd: number,
    /** Where row 0 begins in the file. */
    private readonly start: number,
    readonly rows: number,
    readonly cols: number,
    private readonly file: string,
    private readonly wholeAfter = Math.max(4096, rows >>> 3),
  ) {}

  addRowToVector(x: Float32Array, i: number, a = 1): void {
    const m = this.row(i);
    m.addRowToVector(x, m === this.whole ? i : 0, a);
  }

  dotRow(x: Float32Array, i: number): number {
    const m = this.row(i);
    return m.dotRow(x, m === this.whole ? i : 0);
  }

  /** Row i as a one-row matrix, read the first time it is asked for; once all is read, the whole matrix. */
  private row(i: number): DenseMatrix {
    if (!(Number.isInteger(i) && i >= 0 && i < this.rows)) throw new RangeError(`row ${i} of a ${this.rows}-row matrix`);
    if (this.whole) return this.whole;
    let row = this.cache.get(i);
    if (row) return row;
    if (this.cache.size >= this.wholeAfter) {
      this.whole = new DenseMatrix(this.rows, this.cols, this.read(0, this.rows));
      this.cache.clear();
      return this.whole;
    }
    row = new DenseMatrix(1, this.cols, this.read(i, 1));
    this.cache.set(i, row);
    return row;
  }

  /** Rows first .. first+count-1 from the file. */
  private read(first: number, count: number): Float32Array {
    const out = new Float32Array(count * this.cols);
    const bytes = new Uint8Array(out.buffer);
    const got = readAt(this.fd, bytes, this.start + first * this.cols * 4).length;
    if (got < bytes.length)
      throw new RowshardError(
        ErrorCodes.BAD_DATA,
        `${this.file}: the file ends inside input matrix row ${first + Math.floor(got / (4 * this.cols))}`,
        { file: this.file },
      );
    return out;
  }
}
