import { readFileSync } from 'node:fs';
import {
  copyRow,
  ErrorCodes,
  IdIndex,
  parseSafetensorsHeader,
  parseTableSpec,
  RowshardError,
  type TableSpec,
  viewTensor,
} from '@rowshard/core';
import { kernelRowInitializer } from '@rowshard/kernels';

export const FASTTEXT_MODEL_FORMAT = 'rowshard-fasttext/1';

/** What `rowshard test` and `predict` need of a supervised model. */
export interface FastTextModelData {
  readonly spec: TableSpec;
  readonly seed: number;
  readonly words: readonly string[];
  readonly labels: readonly string[];
  readonly wordNgrams: number;
  readonly buckets: number;
  /** Rows that training touched: their ids and values. Other rows are their deterministic init. */
  readonly ids: Float64Array;
  readonly rows: Float32Array;
  /** Output matrix [labels, dim] (fastText's, without bias). */
  readonly output: Float32Array;
  readonly args: Record<string, unknown>;
}

/**
 * The model file earlier versions of `rowshard supervised -output model` wrote (rowshard's own
 * format; `supervised` now writes fastText's `.bin`): one safetensors file holding the trained
 * input rows by id, the output matrix, the vocabulary, the labels and the arguments; untouched
 * rows are regenerated from the seed. Still read by `predict`, `predict-prob` and `test`.
 */
export function readFastTextModel(path: string): FastTextModelData {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: cannot read the model (${(e as Error).message})`, { file: path });
  }
  const h = parseSafetensorsHeader(bytes, bytes.length, path);
  if (h.metadata.format !== FASTTEXT_MODEL_FORMAT) {
    throw new RowshardError(
      ErrorCodes.BAD_DATA,
      `${path}: not a rowshard supervised model (made by rowshard supervised -output ...)`,
      { file: path },
    );
  }
  const tensor = (name: string) => {
    const t = h.tensors.find((x) => x.name === name);
    if (!t) throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: missing tensor '${name}'`, { file: path });
    return viewTensor(bytes.subarray(h.dataStart + t.begin, h.dataStart + t.end), t.dtype);
  };
  return {
    spec: parseTableSpec(JSON.parse(h.metadata.spec), 'model.spec'),
    seed: Number(h.metadata.seed),
    words: JSON.parse(h.metadata.words),
    labels: JSON.parse(h.metadata.labels),
    wordNgrams: Number(h.metadata.wordNgrams),
    buckets: Number(h.metadata.buckets),
    ids: Float64Array.from(tensor('input.ids') as Float64Array),
    rows: Float32Array.from(tensor('input.rows') as Float32Array),
    output: Float32Array.from(tensor('output') as Float32Array),
    args: JSON.parse(h.metadata.args ?? '{}'),
  };
}

/** Row lookup over a loaded model: stored rows by id, the deterministic init for the rest. */
export class FastTextRows {
  private readonly index: IdIndex;
  private readonly init;
  readonly dim: number;

  constructor(private readonly m: FastTextModelData) {
    this.index = new IdIndex(m.ids);
    this.init = kernelRowInitializer(m.spec, m.seed);
    this.dim = m.spec.embeddingDim;
  }

  /** Adds row `id` into acc[0..dim). */
  addRow(id: number, acc: Float32Array, scratch: Float32Array): void {
    const at = this.index.indexOf(id);
    if (at >= 0) copyRow(this.m.rows, at * this.dim, scratch, 0, this.dim);
    else this.init.fill(id, 0, scratch, 0);
    for (let d = 0; d < this.dim; d++) acc[d] += scratch[d];
  }
}
