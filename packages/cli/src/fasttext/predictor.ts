import { TextFeaturizer, Vocabulary } from '@rowshard/trainer/data';
import { type FastTextModelData, FastTextRows } from './model-file.js';

/**
 * fastText-style prediction with a trained model, in this process: the mean of the text's
 * word and n-gram rows (an empty bag predicts from zeros, as fastText), times the output
 * matrix, softmax; the k most probable labels.
 */
export class FastTextPredictor {
  private readonly featurizer: TextFeaturizer;
  private readonly rows: FastTextRows;
  private readonly acc: Float32Array;
  private readonly scratch: Float32Array;

  constructor(readonly model: FastTextModelData) {
    const vocab = Vocabulary.fromText(model.words.map((w) => `${w}\t1\n`).join(''), 'model vocabulary');
    this.featurizer = new TextFeaturizer(vocab, 'bag', 0, model.wordNgrams, model.buckets);
    this.rows = new FastTextRows(model);
    this.acc = new Float32Array(this.rows.dim);
    this.scratch = new Float32Array(this.rows.dim);
  }

  /** Top-k labels (k = -1: all) with probability ≥ threshold, most probable first. */
  predict(text: string, k: number, threshold = 0): { label: string; prob: number }[] {
    const dim = this.rows.dim;
    const ids = this.featurizer.bagIds(text);
    this.acc.fill(0);
    for (const id of ids) this.rows.addRow(id, this.acc, this.scratch);
    if (ids.length > 0) for (let d = 0; d < dim; d++) this.acc[d] /= ids.length;
    const n = this.model.labels.length;
    const logits = new Float64Array(n);
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += this.model.output[c * dim + d] * this.acc[d];
      logits[c] = s;
      max = Math.max(max, s);
    }
    let sum = 0;
    for (let c = 0; c < n; c++) {
      logits[c] = Math.exp(logits[c] - max);
      sum += logits[c];
    }
    const order = Array.from({ length: n }, (_, c) => c).sort((a, b) => logits[b] - logits[a] || a - b);
    return order
      .slice(0, k === -1 ? n : Math.min(k, n))
      .map((c) => ({ label: this.model.labels[c], prob: logits[c] / sum }))
      .filter((p) => p.prob >= threshold);
  }
}
