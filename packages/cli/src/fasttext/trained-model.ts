import { writeFileWhole } from '@rowshard/coordinator/files';
import {
  type CheckpointManifest,
  type DenseMatrix,
  ErrorCodes,
  type FastTextArgs,
  type FastTextDictionary,
  FastTextInference,
  type FileDataSpec,
  fastTextModelHead,
  parseDataSpec,
  RowshardError,
  serializeFastTextModel,
} from '@rowshard/core';
import { readManifest, readSavedRows, resolveCheckpointDir, type SavedRows } from '../checkpoint-reader.js';
import type { ModelDraft } from './model-draft.js';
import { writeOutputVectors, writeWordVectorsInBackground } from './save-vectors.js';
import { SavedRowsMatrix } from './saved-matrix.js';

export interface TrainedModel {
  /** The files' prefix: `<output>.bin`, `<output>.vec`, `<output>.output`. */
  readonly output: string;
  readonly args: FastTextArgs;
  readonly dict: FastTextDictionary;
  /** The input matrix's trained rows, from the job's checkpoint (made with `seed`). */
  readonly input: SavedRows;
  readonly seed: number;
  readonly outputMatrix: DenseMatrix;
  /** The .bin begun while the job trained, or null. */
  readonly draft: ModelDraft | null;
  readonly saveOutput: boolean;
  readonly verbose: boolean;
}

/**
 * A trained fastText model's files, as a fastText command writes them: `<output>.bin` (from its
 * draft when that can be used, else written whole, the rows training never touched as their
 * deterministic init, a block at a time: 800 MB at fastText's defaults), `<output>.vec` (each
 * word's vector, character n-grams included, formatted on another thread meanwhile), and with
 * -saveOutput `<output>.output`. An error writing the .bin is the one thrown.
 */
export async function writeTrainedModel(m: TrainedModel): Promise<void> {
  const input = new SavedRowsMatrix(m.input);
  const inference = new FastTextInference(m.args, m.dict, input, m.outputMatrix);
  const modelFile = `${m.output}.bin`;
  // Handled from the start: the .vec may fail while the .bin is still being written.
  const vectors = writeWordVectorsInBackground(`${m.output}.vec`, inference).then(
    () => null,
    (e: unknown) => e,
  );
  try {
    const head = fastTextModelHead(m.args, m.dict, false);
    if (!(m.draft && (await m.draft.finish(m.input, m.seed, head, m.outputMatrix))))
      writeFileWhole(modelFile, serializeFastTextModel({ args: m.args, dict: m.dict, input, output: m.outputMatrix }));
  } catch (e) {
    await vectors;
    throw e;
  }
  const failed = await vectors;
  if (failed) throw failed;
  if (m.saveOutput) writeOutputVectors(`${m.output}.output`, inference, m.outputMatrix);
  if (m.verbose) process.stderr.write(`wrote ${modelFile} (fastText 0.9.2's format) and ${m.output}.vec\n`);
}

/** What a fastText command knows of its model before the job trains; the rest is in the job's checkpoint. */
export interface CheckpointedModel extends Omit<TrainedModel, 'args' | 'dict' | 'input' | 'seed' | 'outputMatrix'> {
  /** The job's directory (its last checkpoint is the trained model). */
  readonly workDir: string;
  /** The job as loaded: its data spec names the dictionary written for it. */
  readonly job: Record<string, unknown>;
  /** The dictionary of the job's data pass (LoadedConfig.fastTextDictionary: null only for a job of other features). */
  readonly dictionary: FastTextDictionary | null;
  readonly modelArgs: (data: FileDataSpec) => FastTextArgs;
  /** The output matrix, where the command keeps it (a table or a dense parameter). */
  readonly outputMatrix: (dir: string, manifest: CheckpointManifest, dict: FastTextDictionary) => DenseMatrix;
}

/** writeTrainedModel for a job that has just trained: its input rows and seed from its last checkpoint. */
export async function writeModelFromCheckpoint(m: CheckpointedModel): Promise<void> {
  const dir = resolveCheckpointDir(m.workDir);
  const manifest = readManifest(dir);
  const dict = m.dictionary;
  if (!dict) throw new RowshardError(ErrorCodes.INTERNAL, 'a fastText model was asked of a job without a fastText dictionary');
  const data = parseDataSpec(m.job.data, 'data') as FileDataSpec;
  await writeTrainedModel({
    output: m.output,
    args: m.modelArgs(data),
    dict,
    input: readSavedRows(dir, manifest, 'embedding'),
    seed: manifest.seed,
    outputMatrix: m.outputMatrix(dir, manifest, dict),
    draft: m.draft,
    saveOutput: m.saveOutput,
    verbose: m.verbose,
  });
}
