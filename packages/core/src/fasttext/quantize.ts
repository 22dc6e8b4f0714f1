import { ErrorCodes, RowshardError } from '../errors.js';
import { type DenseMatrix, ProductQuantizer, QuantMatrix } from './matrix.js';

const KSUB = ProductQuantizer.KSUB;
/** fastText's k-means: 25 iterations over at most 256 × 256 sampled rows per sub-quantiser. */
const NITER = 25;
const MAX_POINTS = KSUB * KSUB;
const EPS = 1e-7;

/** A small seeded generator (xorshift32): quantisation needs random samples, not fastText's exact ones. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function shuffle(n: number, random: () => number): Int32Array {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

function nearest(x: Float32Array, xo: number, c: Float32Array, d: number): number {
  let best = 0;
  let bestDist = Number.POSITIVE_INFINITY;
  for (let k = 0; k < KSUB; k++) {
    let dist = 0;
    for (let j = 0; j < d; j++) {
      const t = x[xo + j] - c[k * d + j];
      dist += t * t;
    }
    if (dist < bestDist) {
      bestDist = dist;
      best = k;
    }
  }
  return best;
}

/** Lloyd's k-means into 256 centroids of dimension d, as fastText's (a split of the largest for an empty cluster). */
function kmeans(x: Float32Array, n: number, d: number, random: () => number): Float32Array {
  const c = new Float32Array(KSUB * d);
  const perm = shuffle(n, random);
  for (let k = 0; k < KSUB; k++) c.set(x.subarray(perm[k] * d, perm[k] * d + d), k * d);
  const codes = new Uint8Array(n);
  const counts = new Int32Array(KSUB);
  for (let it = 0; it < NITER; it++) {
    for (let i = 0; i < n; i++) codes[i] = nearest(x, i * d, c, d);
    c.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) c[codes[i] * d + j] += x[i * d + j];
      counts[codes[i]]++;
    }
    for (let k = 0; k < KSUB; k++) if (counts[k] > 0) for (let j = 0; j < d; j++) c[k * d + j] /= counts[k];
    for (let k = 0; k < KSUB; k++) {
      if (counts[k] !== 0) continue;
      let m = 0;
      for (let k2 = 1; k2 < KSUB; k2++) if (counts[k2] > counts[m]) m = k2;
      for (let j = 0; j < d; j++) {
        const sign = (j % 2) * 2 - 1;
        c[k * d + j] = c[m * d + j] + sign * EPS;
        c[m * d + j] -= sign * EPS;
      }
      counts[k] = counts[m] >> 1;
      counts[m] -= counts[k];
    }
  }
  return c;
}

/** Trains a product quantiser over rows [n, dim] (sub-vectors of dsub; the last may be shorter). */
export function trainProductQuantizer(data: Float32Array, n: number, dim: number, dsub: number, seed = 1234): ProductQuantizer {
  if (n < KSUB)
    throw new RowshardError(
      ErrorCodes.BAD_DATA,
      `matrix too small for quantization: it has ${n} rows, at least ${KSUB} are needed`,
    );
  let nsubq = Math.floor(dim / dsub);
  let lastdsub = dim % dsub;
  if (lastdsub === 0) lastdsub = dsub;
  else nsubq++;
  const centroids = new Float32Array(dim * KSUB);
  const random = rng(seed);
  const np = Math.min(n, MAX_POINTS);
  for (let m = 0; m < nsubq; m++) {
    const d = m === nsubq - 1 ? lastdsub : dsub;
    const perm = shuffle(n, random);
    const slice = new Float32Array(np * d);
    for (let i = 0; i < np; i++) for (let j = 0; j < d; j++) slice[i * d + j] = data[perm[i] * dim + m * dsub + j];
    centroids.set(kmeans(slice, np, d, random), m * KSUB * dsub);
  }
  return new ProductQuantizer(dim, nsubq, dsub, lastdsub, centroids);
}

function codesOf(pq: ProductQuantizer, data: Float32Array, n: number): Uint8Array {
  const codes = new Uint8Array(n * pq.nsubq);
  for (let i = 0; i < n; i++)
    for (let m = 0; m < pq.nsubq; m++) {
      const d = m === pq.nsubq - 1 ? pq.lastdsub : pq.dsub;
      const c = pq.centroids.subarray(pq.centroidOffset(m, 0), pq.centroidOffset(m, 0) + KSUB * d);
      codes[i * pq.nsubq + m] = nearest(data.subarray(i * pq.dim + m * pq.dsub), 0, c, d);
    }
  return codes;
}

/**
 * A dense matrix product-quantised as `fasttext quantize` does it (`QuantMatrix`): with
 * `qnorm`, each row is divided by its norm first and the norms quantised apart (one
 * 256-centroid quantiser of dimension 1).
 */
export function quantizeMatrix(m: DenseMatrix, dsub: number, qnorm: boolean): QuantMatrix {
  const data = Float32Array.from(m.data);
  let normCodes: Uint8Array | null = null;
  let npq: ProductQuantizer | null = null;
  if (qnorm) {
    const norms = new Float32Array(m.rows);
    for (let i = 0; i < m.rows; i++) {
      let s = 0;
      for (let j = 0; j < m.cols; j++) s += data[i * m.cols + j] ** 2;
      norms[i] = Math.sqrt(s);
      if (norms[i] > 0) for (let j = 0; j < m.cols; j++) data[i * m.cols + j] /= norms[i];
    }
    npq = trainProductQuantizer(norms, m.rows, 1, 1);
    normCodes = codesOf(npq, norms, m.rows);
  }
  const pq = trainProductQuantizer(data, m.rows, m.cols, dsub);
  return new QuantMatrix(m.rows, m.cols, codesOf(pq, data, m.rows), pq, normCodes, npq);
}
