/**
 * The arguments block of a fastText model file (`Args::save`): what a loaded model needs to
 * tokenise, hash and predict as it was trained. Names and numbering are fastText's.
 */
export type FastTextLoss = 'hs' | 'ns' | 'softmax' | 'ova';
export type FastTextModelKind = 'cbow' | 'sg' | 'sup';

/** fastText's `loss_name` and `model_name` enums, as stored in the file. */
export const LOSS_CODES: Readonly<Record<FastTextLoss, number>> = { hs: 1, ns: 2, softmax: 3, ova: 4 };
export const MODEL_CODES: Readonly<Record<FastTextModelKind, number>> = { cbow: 1, sg: 2, sup: 3 };

export interface FastTextArgs {
  readonly dim: number;
  readonly ws: number;
  readonly epoch: number;
  readonly minCount: number;
  readonly neg: number;
  readonly wordNgrams: number;
  readonly loss: FastTextLoss;
  readonly model: FastTextModelKind;
  readonly bucket: number;
  readonly minn: number;
  readonly maxn: number;
  readonly lrUpdateRate: number;
  readonly t: number;
}

/** The label prefix is not in the file: fastText's tools assume `__label__` too. */
export const DEFAULT_LABEL_PREFIX = '__label__';

export function lossFromCode(code: number): FastTextLoss | null {
  return (Object.keys(LOSS_CODES) as FastTextLoss[]).find((k) => LOSS_CODES[k] === code) ?? null;
}

export function modelFromCode(code: number): FastTextModelKind | null {
  return (Object.keys(MODEL_CODES) as FastTextModelKind[]).find((k) => MODEL_CODES[k] === code) ?? null;
}

/** `Args::dump`, as `fasttext dump model.bin args` prints it. */
export function dumpArgs(a: FastTextArgs, formatNumber: (x: number) => string): string {
  const loss = a.loss === 'ova' ? 'one-vs-all' : a.loss;
  const rows: [string, string][] = [
    ['dim', String(a.dim)],
    ['ws', String(a.ws)],
    ['epoch', String(a.epoch)],
    ['minCount', String(a.minCount)],
    ['neg', String(a.neg)],
    ['wordNgrams', String(a.wordNgrams)],
    ['loss', loss],
    ['model', a.model],
    ['bucket', String(a.bucket)],
    ['minn', String(a.minn)],
    ['maxn', String(a.maxn)],
    ['lrUpdateRate', String(a.lrUpdateRate)],
    ['t', formatNumber(a.t)],
  ];
  return rows.map(([k, v]) => `${k} ${v}\n`).join('');
}
