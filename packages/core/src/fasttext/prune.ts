import { ErrorCodes, RowshardError } from '../errors.js';
import type { FastTextDictionary } from './dictionary.js';
import { DenseMatrix } from './matrix.js';
import { stlSort } from './stl-algorithms.js';
import { EOS } from './tokens.js';

/**
 * The rows `fasttext quantize -cutoff N` keeps (`FastText::selectEmbeddings`): every input row
 * (words, then n-gram buckets) ordered by L2 norm, largest first, with `</s>` always first, by
 * libstdc++'s introsort as fastText's binary sorts (equal norms land where fastText's land),
 * the first `cutoff` kept in that order. A norm is fastText's: float32 squares summed in a
 * double, its square root stored as a float32.
 */
export function selectEmbeddings(input: DenseMatrix, eosId: number, cutoff: number): number[] {
  const { rows, cols, data } = input;
  const norms = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const x = data[i * cols + j];
      s += Math.fround(x * x);
    }
    if (Number.isNaN(s))
      throw new RowshardError(ErrorCodes.BAD_DATA, `input row ${i} holds NaN: its norm cannot rank it for -cutoff`);
    norms[i] = Math.sqrt(s);
  }
  const idx = Array.from({ length: rows }, (_, i) => i);
  stlSort(idx, (a, b) => {
    if (a === eosId && b === eosId) return false;
    return a === eosId || (b !== eosId && norms[a] > norms[b]);
  });
  idx.length = Math.min(cutoff, rows);
  return idx;
}

/** A model's input rows cut to those `selectEmbeddings` picked, and the dictionary pruned to match. */
export interface PrunedInput {
  readonly dict: FastTextDictionary;
  readonly input: DenseMatrix;
  /** The original row of each new row. */
  readonly rows: readonly number[];
}

/**
 * `fasttext quantize -cutoff N` before quantisation: the N rows chosen (`selectEmbeddings`),
 * the dictionary pruned as `Dictionary::prune` prunes it (the kept words in their order, every
 * label, n-gram buckets mapped through the pruning map in the order chosen), and the input
 * matrix's rows taken in that order: kept words first, then kept buckets. A cutoff of 0 or of
 * at least the number of rows keeps the model as it is, as fastText's does.
 */
export function pruneInput(dict: FastTextDictionary, input: DenseMatrix, cutoff: number): PrunedInput | null {
  if (cutoff <= 0 || cutoff >= input.rows) return null;
  const idx = selectEmbeddings(input, dict.getId(EOS), cutoff);
  const { dict: pruned, rows } = dict.prune(idx);
  const out = new Float32Array(rows.length * input.cols);
  rows.forEach((r, i) => {
    out.set(input.data.subarray(r * input.cols, (r + 1) * input.cols), i * input.cols);
  });
  return { dict: pruned, input: new DenseMatrix(rows.length, input.cols, out), rows };
}
