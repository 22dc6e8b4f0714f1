import type { FastTextArgs } from './args.js';
import type { FastTextDictionary } from './dictionary.js';
import { buildHuffmanTree, type HuffmanTree } from './huffman.js';
import type { FastTextMatrix } from './matrix.js';
import { stlPopHeap, stlPushHeap, stlSortHeap } from './stl-algorithms.js';

/** A prediction: the label's index in the dictionary's labels and log(p + 1e-5), as fastText keeps it. */
export interface LabelScore {
  readonly label: number;
  readonly logProb: number;
}

/** `k = -1` asks for every label, as fastText's `kUnlimitedPredictions`. */
export const ALL_LABELS = -1;

/** `std_log`: log(x + 1e-5) in double (1e-5 is a double), kept as float. */
const stdLog = (x: number) => Math.fround(Math.log(x + 1e-5));
/** fastText's heap comparator: a greater score is "less", so the heap's front is the worst kept. */
const better = (a: LabelScore, b: LabelScore) => a.logProb > b.logProb;

const SIGMOID_TABLE_SIZE = 512;
const MAX_SIGMOID = 8;
/** fastText's sigmoid for ns and ova outputs is a 512-entry table, not exp: the same table here. */
const sigmoidTable = Float32Array.from(
  { length: SIGMOID_TABLE_SIZE + 1 },
  (_, i) => 1 / (1 + Math.exp(-(Math.fround((i * 2 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE) - MAX_SIGMOID))),
);
function tableSigmoid(x: number): number {
  if (x < -MAX_SIGMOID) return 0;
  if (x > MAX_SIGMOID) return 1;
  return sigmoidTable[Math.trunc(Math.fround(Math.fround((x + MAX_SIGMOID) * SIGMOID_TABLE_SIZE) / MAX_SIGMOID / 2))];
}

/**
 * What fastText does with a trained model (`FastText`, `Model`, the losses' `predict`): the
 * hidden vector of a line (mean of its input rows), the k best labels under the model's loss
 * (softmax; sigmoids for ns and ova; a walk of the Huffman tree for hs), word and sentence
 * vectors, nearest neighbours and analogies. Float32 arithmetic in fastText's order.
 */
export class FastTextInference {
  private readonly tree: HuffmanTree | null;
  private wordVectors: Float32Array | null = null;

  constructor(
    readonly args: FastTextArgs,
    readonly dict: FastTextDictionary,
    readonly input: FastTextMatrix,
    readonly output: FastTextMatrix,
  ) {
    this.tree = args.loss === 'hs' ? buildHuffmanTree(dict.counts(args.model === 'sup' ? 'label' : 'word')) : null;
  }

  get dim(): number {
    return this.args.dim;
  }

  /** The mean of rows `ids` (`Model::computeHidden`). */
  hidden(ids: readonly number[]): Float32Array {
    const h = new Float32Array(this.dim);
    for (const id of ids) this.input.addRowToVector(h, id);
    const scale = Math.fround(1 / ids.length);
    for (let j = 0; j < h.length; j++) h[j] = Math.fround(h[j] * scale);
    return h;
  }

  /**
   * The k best labels of a line's input rows with probability ≥ threshold, best first
   * (`FastText::predict`); k = -1 for all. An empty line predicts nothing.
   */
  predict(ids: readonly number[], k: number, threshold: number): LabelScore[] {
    if (ids.length === 0) return [];
    if (this.args.model !== 'sup') throw new Error('the model is not supervised: it has no labels to predict');
    const kk = k === ALL_LABELS ? this.output.rows : k;
    const h = this.hidden(ids);
    const heap: LabelScore[] = [];
    const keep = (s: LabelScore) => {
      heap.push(s);
      stlPushHeap(heap, better);
      if (heap.length > kk) {
        stlPopHeap(heap, better);
        heap.pop();
      }
    };
    if (this.tree) this.walkTree(kk, Math.fround(threshold), this.tree.root, 0, heap, h, keep);
    else {
      const out = this.outputs(h);
      for (let i = 0; i < out.length; i++) {
        if (out[i] < threshold) continue;
        const score = stdLog(out[i]);
        if (heap.length === kk && score < heap[0].logProb) continue;
        keep({ label: i, logProb: score });
      }
    }
    stlSortHeap(heap, better);
    return heap;
  }

  /** Softmax, or a table sigmoid per label for ns and ova (`computeOutput`). */
  private outputs(h: Float32Array): Float32Array {
    const n = this.output.rows;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.output.dotRow(h, i);
    if (this.args.loss === 'softmax') {
      let max = out[0];
      for (let i = 0; i < n; i++) max = Math.max(out[i], max);
      let z = 0;
      for (let i = 0; i < n; i++) {
        out[i] = Math.exp(out[i] - max);
        z = Math.fround(z + out[i]);
      }
      for (let i = 0; i < n; i++) out[i] = out[i] / z;
    } else for (let i = 0; i < n; i++) out[i] = tableSigmoid(out[i]);
    return out;
  }

  private walkTree(
    k: number,
    threshold: number,
    node: number,
    score: number,
    heap: LabelScore[],
    h: Float32Array,
    keep: (s: LabelScore) => void,
  ): void {
    const tree = this.tree as HuffmanTree;
    if (score < stdLog(threshold)) return;
    if (heap.length === k && score < heap[0].logProb) return;
    const left = tree.left[node];
    const right = tree.right[node];
    if (left === -1 && right === -1) {
      keep({ label: node, logProb: score });
      return;
    }
    const f = Math.fround(1 / (1 + Math.fround(Math.exp(-this.output.dotRow(h, node - tree.leaves)))));
    // std_log takes a float: 1 − f is rounded to one before the log.
    this.walkTree(k, threshold, left, Math.fround(score + stdLog(Math.fround(1 - f))), heap, h, keep);
    this.walkTree(k, threshold, right, Math.fround(score + stdLog(f)), heap, h, keep);
  }

  /** A word's vector: the mean of its rows, its character n-grams included (`getWordVector`). */
  wordVector(word: string): Float32Array {
    const ids = this.dict.subwordsOf(word);
    const v = new Float32Array(this.dim);
    for (const id of ids) this.input.addRowToVector(v, id);
    if (ids.length > 0) {
      const scale = Math.fround(1 / ids.length);
      for (let j = 0; j < v.length; j++) v[j] = Math.fround(v[j] * scale);
    }
    return v;
  }

  /**
   * A line's vector (`getSentenceVector`): for a supervised model the mean of the line's input
   * rows (</s> and word n-grams included; `words` as getLine reads them); otherwise the mean of
   * its words' unit vectors (`words` as `>>` reads a text line: no </s> but one written in it).
   */
  sentenceVector(words: readonly string[]): Float32Array {
    const v = new Float32Array(this.dim);
    if (this.args.model === 'sup') {
      const { ids } = this.dict.line(words);
      for (const id of ids) this.input.addRowToVector(v, id);
      if (ids.length > 0) {
        const scale = Math.fround(1 / ids.length);
        for (let j = 0; j < v.length; j++) v[j] = Math.fround(v[j] * scale);
      }
      return v;
    }
    let count = 0;
    for (const w of words) {
      const wv = this.wordVector(w);
      const norm = vectorNorm(wv);
      if (norm > 0) {
        const scale = Math.fround(1 / norm);
        for (let j = 0; j < v.length; j++) v[j] += Math.fround(wv[j] * scale);
        count++;
      }
    }
    if (count > 0) {
      const scale = Math.fround(1 / count);
      for (let j = 0; j < v.length; j++) v[j] = Math.fround(v[j] * scale);
    }
    return v;
  }

  /** Every word's unit vector, computed once (`precomputeWordVectors`). */
  private unitWordVectors(): Float32Array {
    if (!this.wordVectors) {
      const dim = this.dim;
      const all = new Float32Array(this.dict.nwords * dim);
      for (let i = 0; i < this.dict.nwords; i++) {
        const v = this.wordVector(this.dict.word(i));
        const norm = vectorNorm(v);
        if (norm > 0) {
          const scale = Math.fround(1 / norm);
          for (let j = 0; j < dim; j++) all[i * dim + j] = Math.fround(v[j] * scale);
        }
      }
      this.wordVectors = all;
    }
    return this.wordVectors;
  }

  /** The k words nearest a query vector by cosine, leaving out `ban` (`getNN`). */
  nearest(query: Float32Array, k: number, ban: ReadonlySet<string>): { word: string; similarity: number }[] {
    const all = this.unitWordVectors();
    const dim = this.dim;
    let queryNorm = vectorNorm(query);
    if (Math.abs(queryNorm) < 1e-8) queryNorm = 1;
    type Hit = { word: string; similarity: number };
    const heap: Hit[] = [];
    const closer = (a: Hit, b: Hit) => a.similarity > b.similarity;
    for (let i = 0; i < this.dict.nwords; i++) {
      const word = this.dict.word(i);
      if (ban.has(word)) continue;
      let dp = 0;
      for (let j = 0; j < dim; j++) dp = Math.fround(dp + Math.fround(all[i * dim + j] * query[j]));
      const similarity = Math.fround(dp / queryNorm);
      if (heap.length === k && similarity < heap[0].similarity) continue;
      heap.push({ word, similarity });
      stlPushHeap(heap, closer);
      if (heap.length > k) {
        stlPopHeap(heap, closer);
        heap.pop();
      }
    }
    stlSortHeap(heap, closer);
    return heap;
  }

  /** Neighbours of a word (`getNN(word, k)`), the word itself left out. */
  neighbours(word: string, k: number): { word: string; similarity: number }[] {
    return this.nearest(this.wordVector(word), k, new Set([word]));
  }

  /** A − B + C over unit vectors (`getAnalogies`), the three words left out. */
  analogies(k: number, a: string, b: string, c: string): { word: string; similarity: number }[] {
    const query = new Float32Array(this.dim);
    for (const [w, sign] of [
      [a, 1],
      [b, -1],
      [c, 1],
    ] as const) {
      const v = this.wordVector(w);
      const scale = Math.fround(sign / Math.fround(vectorNorm(v) + 1e-8));
      for (let j = 0; j < query.length; j++) query[j] += Math.fround(scale * v[j]);
    }
    return this.nearest(query, k, new Set([a, b, c]));
  }
}

/** `Vector::norm`: float32 sum of squares, then sqrt. */
export function vectorNorm(v: Float32Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s = Math.fround(s + Math.fround(v[j] * v[j]));
  return Math.fround(Math.sqrt(s));
}
