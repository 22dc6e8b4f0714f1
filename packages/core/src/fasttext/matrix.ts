/**
 * fastText's two matrix kinds, for inference: dense rows of float32, and product-quantised
 * rows (`.ftz`: each row a code per sub-vector into 256 centroids, optionally times a
 * quantised norm). Arithmetic is float32 step by step (`Math.fround`), as fastText's `real`
 * loops run, so sums match fastText's to the last bits in the usual case.
 */
export interface FastTextMatrix {
  readonly rows: number;
  readonly cols: number;
  /** x += a · row i. */
  addRowToVector(x: Float32Array, i: number, a?: number): void;
  /** row i · x, accumulated in float32. */
  dotRow(x: Float32Array, i: number): number;
}

/**
 * A dense matrix that hands out its rows a block at a time, so that a model file can be written
 * without the matrix ever being whole in memory (a model's input matrix assembled from a
 * checkpoint: millions of rows, most of them their init).
 */
export interface RowBlockMatrix extends FastTextMatrix {
  /** Rows first .. first+count-1 into out[0 .. count·cols). */
  fillRows(first: number, count: number, out: Float32Array): void;
}

export class DenseMatrix implements FastTextMatrix {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly data: Float32Array,
  ) {}

  addRowToVector(x: Float32Array, i: number, a = 1): void {
    const n = this.cols;
    const base = i * n;
    if (a === 1) for (let j = 0; j < n; j++) x[j] += this.data[base + j];
    else {
      const af = Math.fround(a);
      for (let j = 0; j < n; j++) x[j] += Math.fround(af * this.data[base + j]);
    }
  }

  dotRow(x: Float32Array, i: number): number {
    const n = this.cols;
    const base = i * n;
    let d = 0;
    for (let j = 0; j < n; j++) d = Math.fround(d + Math.fround(this.data[base + j] * x[j]));
    return d;
  }
}

/** The 256 centroids per sub-vector of a product quantiser (`ProductQuantizer`). */
export class ProductQuantizer {
  static readonly KSUB = 256;

  constructor(
    readonly dim: number,
    readonly nsubq: number,
    readonly dsub: number,
    readonly lastdsub: number,
    /** dim × 256 floats: sub-quantiser m's centroid c at m·256·dsub + c·(its dsub). */
    readonly centroids: Float32Array,
  ) {}

  centroidOffset(m: number, code: number): number {
    if (m === this.nsubq - 1) return m * ProductQuantizer.KSUB * this.dsub + code * this.lastdsub;
    return (m * ProductQuantizer.KSUB + code) * this.dsub;
  }

  addCode(x: Float32Array, codes: Uint8Array, t: number, alpha: number): void {
    const af = Math.fround(alpha);
    const base = this.nsubq * t;
    let d = this.dsub;
    for (let m = 0; m < this.nsubq; m++) {
      const c = this.centroidOffset(m, codes[base + m]);
      if (m === this.nsubq - 1) d = this.lastdsub;
      for (let n = 0; n < d; n++) x[m * this.dsub + n] += Math.fround(af * this.centroids[c + n]);
    }
  }

  mulCode(x: Float32Array, codes: Uint8Array, t: number, alpha: number): number {
    const base = this.nsubq * t;
    let res = 0;
    let d = this.dsub;
    for (let m = 0; m < this.nsubq; m++) {
      const c = this.centroidOffset(m, codes[base + m]);
      if (m === this.nsubq - 1) d = this.lastdsub;
      for (let n = 0; n < d; n++) res = Math.fround(res + Math.fround(x[m * this.dsub + n] * this.centroids[c + n]));
    }
    return Math.fround(res * alpha);
  }
}

export class QuantMatrix implements FastTextMatrix {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly codes: Uint8Array,
    readonly pq: ProductQuantizer,
    /** With `-qnorm`: each row's norm is quantised apart (one code per row into npq). */
    readonly normCodes: Uint8Array | null,
    readonly npq: ProductQuantizer | null,
  ) {}

  private norm(i: number): number {
    if (!this.normCodes || !this.npq) return 1;
    return this.npq.centroids[this.npq.centroidOffset(0, this.normCodes[i])];
  }

  addRowToVector(x: Float32Array, i: number, a = 1): void {
    this.pq.addCode(x, this.codes, i, Math.fround(a * this.norm(i)));
  }

  dotRow(x: Float32Array, i: number): number {
    return this.pq.mulCode(x, this.codes, i, this.norm(i));
  }
}
