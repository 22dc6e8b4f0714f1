import { readFileSync } from 'node:fs';

// How alike two sets of word vectors are (bench:fasttext --only vectors): the rank correlation of
// their words' pairwise cosine similarities.

/** A .vec file's first `n` words after </s> (the most frequent: the dictionary is sorted by count) and their unit vectors. */
export function readVec(path: string, n: number): { words: string[]; vectors: Float64Array[] } {
  const lines = readFileSync(path, 'latin1').split('\n').slice(1);
  const words: string[] = [];
  const vectors: Float64Array[] = [];
  for (const line of lines) {
    if (words.length === n) break;
    const parts = line.trim().split(' ');
    if (parts[0] === '</s>' || parts.length < 2) continue;
    const v = Float64Array.from(parts.slice(1), Number);
    const norm = Math.hypot(...v) || 1;
    words.push(parts[0]);
    vectors.push(v.map((x) => x / norm));
  }
  return { words, vectors };
}

/** The cosine of every pair of (unit) vectors, pair (i, j > i) in order. */
export function pairCosines(vectors: Float64Array[]): Float64Array {
  const n = vectors.length;
  const out = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      const a = vectors[i];
      const b = vectors[j];
      for (let d = 0; d < a.length; d++) s += a[d] * b[d];
      out[k++] = s;
    }
  return out;
}

/** Ranks (ties averaged). */
function ranks(x: Float64Array): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]] === x[order[i]]) j++;
    for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation of two samples of the same length. */
export function spearman(a: Float64Array, b: Float64Array): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (ra.length - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i] - mean) * (rb[i] - mean);
    da += (ra[i] - mean) ** 2;
    db += (rb[i] - mean) ** 2;
  }
  return num / Math.sqrt(da * db);
}
