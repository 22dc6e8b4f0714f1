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
  /** Each row read so far: its place in `kept`. */
  private readonly slotOf = new Map<number, number>();
  /** The rows read so far, in the order read, in one buffer (not an object per row: 100k of them made a tenth of a `test`'s time in collections). */
  private kept: DenseMatrix;
  private whole: DenseMatrix | null = null;

  constructor(
    private readonly fd: number,
    /** Where row 0 begins in the file. */
    private readonly start: number,
    readonly rows: number,
    readonly cols: number,
    private readonly file: string,
    private readonly wholeAfter = Math.max(4096, rows >>> 3),
  ) {
    this.kept = new DenseMatrix(Math.min(1024, rows), cols, new Float32Array(Math.min(1024, rows) * cols));
  }

  addRowToVector(x: Float32Array, i: number, a = 1): void {
    const r = this.place(i);
    (this.whole ?? this.kept).addRowToVector(x, r, a);
  }

  dotRow(x: Float32Array, i: number): number {
    const r = this.place(i);
    return (this.whole ?? this.kept).dotRow(x, r);
  }

  /** Where row i is: its row in `kept`, read the first time it is asked for, or (once all is read) in `whole`. */
  private place(i: number): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.rows)) throw new RangeError(`row ${i} of a ${this.rows}-row matrix`);
    if (this.whole) return i;
    const slot = this.slotOf.get(i);
    if (slot !== undefined) return slot;
    const n = this.slotOf.size;
    if (n >= this.wholeAfter) {
      this.whole = new DenseMatrix(this.rows, this.cols, this.read(0, this.rows, new Float32Array(this.rows * this.cols)));
      this.slotOf.clear();
      this.kept = new DenseMatrix(0, this.cols, new Float32Array(0));
      return i;
    }
    if (n === this.kept.rows) {
      const grown = Math.min(2 * n, this.rows);
      const data = new Float32Array(grown * this.cols);
      data.set(this.kept.data);
      this.kept = new DenseMatrix(grown, this.cols, data);
    }
    this.read(i, 1, this.kept.data.subarray(n * this.cols));
    this.slotOf.set(i, n);
    return n;
  }

  /** Rows first .. first+count-1 from the file into `out` (from its start). */
  private read(first: number, count: number, out: Float32Array): Float32Array {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, count * this.cols * 4);
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
