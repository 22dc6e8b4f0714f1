import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileWhole } from '@rowshard/coordinator/files';
import {
  type DenseMatrix,
  dictionaryFileText,
  ErrorCodes,
  type FastTextModelFile,
  type FastTextModelKind,
  npyHeader,
  RowshardError,
} from '@rowshard/core';
import { isNativeModelFile, loadNativeModel } from './native-model.js';

/** The model `-resume-from` names, checked against the flags given. */
export interface ResumedModel {
  readonly path: string;
  readonly file: FastTextModelFile;
}

/**
 * Opens the model `-resume-from` names and checks `command` can train on from it: a fastText
 * .bin of one of `kinds` (supervised; or skipgram and cbow, negative sampling), not quantised; flags that fix the model's shape, hashing or loss (-dim,
 * -minn, -maxn, -wordNgrams, -bucket, -loss) may repeat its values but not change them, and
 * flags that build a dictionary (-minCount, -minCountLabel, -pretrainedVectors) are refused:
 * the dictionary is the model's.
 */
export function openResumedModel(
  command: string,
  path: string,
  flags: Record<string, unknown>,
  kinds: readonly FastTextModelKind[],
): ResumedModel {
  const refuse = (why: string, field = 'resume-from') =>
    new RowshardError(ErrorCodes.BAD_CONFIG, `${command}: -resume-from ${path}: ${why}`, { field, file: path });
  if (!existsSync(path)) throw refuse('no such file');
  if (!isNativeModelFile(path)) throw refuse('not a fastText model file (.bin): no fastText signature');
  const { file } = loadNativeModel(path, String(flags.label ?? '__label__'));
  const a = file.args;
  if (file.quantInput || file.quantOutput)
    throw refuse(
      'a quantised model (.ftz) holds approximations of its rows and cannot train on; resume from the .bin it was quantised from',
    );
  if (!kinds.includes(a.model))
    throw refuse(
      a.model === 'sup'
        ? `a supervised model: ${command} trains on word-vector models (skipgram, cbow) only`
        : `a ${a.model === 'sg' ? 'skipgram' : 'cbow'} model (word vectors): ${command} trains on supervised models only`,
    );
  if (a.model !== 'sup' && a.loss !== 'ns')
    throw refuse(`its loss is ${a.loss}: rowshard's ${command} trains with negative sampling (ns) only`);
  for (const name of ['minCount', 'minCountLabel', 'pretrainedVectors'])
    if (flags[name] !== undefined)
      throw refuse(
        `-${name} builds a dictionary, and a resumed run keeps the model's (words it lacks are unknown, as at prediction)`,
        name,
      );
  const effectiveBuckets = (b: number) => (a.wordNgrams <= 1 && a.maxn === 0 ? 0 : b);
  for (const name of ['dim', 'minn', 'maxn', 'wordNgrams', 'bucket', 'loss'] as const) {
    const given = flags[name];
    if (given === undefined) continue;
    const same = name === 'bucket' ? effectiveBuckets(Number(given)) === effectiveBuckets(a.bucket) : given === a[name];
    if (!same)
      throw refuse(
        `-${name} ${String(given)} conflicts with the model's ${name} ${String(a[name])} (its matrices' shape, hashing and loss stay the model's)`,
        name,
      );
  }
  return { path, file };
}

/** The model's dictionary (as the vocabulary pass writes one), input and output matrices (.npy) in `dir`. */
export function writeResumeFiles(m: ResumedModel, dir: string): { dictionary: string; input: string; output: string } {
  const files = { dictionary: join(dir, 'dictionary.txt'), input: join(dir, 'input.npy'), output: join(dir, 'output.npy') };
  writeFileSync(files.dictionary, Buffer.from(dictionaryFileText(m.file.dict), 'latin1'));
  for (const [name, matrix] of [
    ['input', m.file.input],
    ['output', m.file.output],
  ] as const) {
    const { data } = matrix as DenseMatrix;
    writeFileWhole(files[name], [
      npyHeader([matrix.rows, matrix.cols]),
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    ]);
  }
  return files;
}
