import { describe, expect, it } from 'vitest';
import { DenseMatrix } from './matrix.js';
import { quantizeMatrix } from './quantize.js';

describe('product quantization (fasttext quantize)', () => {
  it('reconstructs rows from 256 centroids per sub-vector, with and without quantized norms', () => {
    let s = 7;
    const rand = () => {
      s = (s * 48271) % 2147483647;
      return s / 2147483647 - 0.5;
    };
    // 600 rows of dim 5 around 20 points: k-means with 256 centroids per pair of values fits them closely.
    const centers = Array.from({ length: 20 }, () => Array.from({ length: 5 }, rand));
    const data = new Float32Array(600 * 5);
    for (let i = 0; i < 600; i++) for (let j = 0; j < 5; j++) data[i * 5 + j] = centers[i % 20][j] + rand() * 0.01;
    const dense = new DenseMatrix(600, 5, data);
    for (const qnorm of [false, true]) {
      const q = quantizeMatrix(dense, 2, qnorm);
      expect([q.pq.nsubq, q.pq.dsub, q.pq.lastdsub]).toEqual([3, 2, 1]);
      let worst = 0;
      for (let i = 0; i < 600; i++) {
        const v = new Float32Array(5);
        q.addRowToVector(v, i);
        for (let j = 0; j < 5; j++) worst = Math.max(worst, Math.abs(v[j] - data[i * 5 + j]));
      }
      expect(worst, `qnorm ${qnorm}`).toBeLessThan(0.05);
    }
    expect(() => quantizeMatrix(new DenseMatrix(10, 5, new Float32Array(50)), 2, false)).toThrow(/at least 256 are needed/);
  });
});
