import { writeFileWhole } from '@rowshard/coordinator';
import { type DenseMatrix, type FastTextInference, formatG } from '@rowshard/core';

/** A vector as fastText's `operator<<(Vector)` writes it: 5 significant digits, each followed by a space. */
function vectorText(v: Float32Array): string {
  let s = '';
  for (const x of v) s += `${formatG(x, 5)} `;
  return s;
}

/** `<prefix>.vec` as fastText's saveVectors writes it: each word's vector, its character n-grams included. */
export function writeWordVectors(path: string, model: FastTextInference): void {
  const { dict } = model;
  const lines = [`${dict.nwords} ${model.dim}\n`];
  for (let w = 0; w < dict.nwords; w++) lines.push(`${dict.word(w)} ${vectorText(model.wordVector(dict.word(w)))}\n`);
  writeFileWhole(path, [Buffer.from(lines.join(''), 'latin1')]);
}

/**
 * `<prefix>.output` as fastText's `-saveOutput` writes it: the output matrix's rows, each
 * named by its label (supervised) or word.
 */
export function writeOutputVectors(path: string, model: FastTextInference, output: DenseMatrix): void {
  const { dict } = model;
  const sup = model.args.model === 'sup';
  const n = sup ? dict.nlabels : dict.nwords;
  const lines = [`${n} ${model.dim}\n`];
  for (let i = 0; i < n; i++) {
    const row = output.data.subarray(i * output.cols, (i + 1) * output.cols);
    lines.push(`${sup ? dict.label(i) : dict.word(i)} ${vectorText(row)}\n`);
  }
  writeFileWhole(path, [Buffer.from(lines.join(''), 'latin1')]);
}
