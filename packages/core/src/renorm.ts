/**
 * In-place max_norm renormalisation of one row (torch.embedding_renorm_): a row whose p-norm
 * exceeds maxNorm is scaled by maxNorm / (norm + 1e-7). One copy for every place rows are
 * looked up: a single-process table (nn) and a parameter server's pull (ps).
 */
export function renormRow(rows: Float32Array, offset: number, dim: number, maxNorm: number, normType: number): void {
  let acc = 0;
  if (normType === 2) {
    for (let d = 0; d < dim; d++) acc += rows[offset + d] * rows[offset + d];
    acc = Math.sqrt(acc);
  } else if (normType === 1) {
    for (let d = 0; d < dim; d++) acc += Math.abs(rows[offset + d]);
  } else if (normType === Number.POSITIVE_INFINITY) {
    for (let d = 0; d < dim; d++) acc = Math.max(acc, Math.abs(rows[offset + d]));
  } else {
    for (let d = 0; d < dim; d++) acc += Math.abs(rows[offset + d]) ** normType;
    acc **= 1 / normType;
  }
  if (acc > maxNorm) {
    const scale = maxNorm / (acc + 1e-7);
    for (let d = 0; d < dim; d++) rows[offset + d] *= scale;
  }
}
