import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { runTrain } from '../commands/train.js';
import type { LoadedConfig } from '../config/load-config.js';
import { RoleStandby } from '../launcher/role-standby.js';
import { type ModelDraft, startModelDraft } from './model-draft.js';
import { type CheckpointedModel, writeModelFromCheckpoint } from './trained-model.js';

/** What a fastText command (supervised, skipgram, cbow) trains, and how it writes the model. */
export interface FastTextRun
  extends Pick<CheckpointedModel, 'workDir' | 'output' | 'modelArgs' | 'outputMatrix' | 'saveOutput' | 'verbose'> {
  /** Loads the job; `onCluster` is loadTrainConfig's (the processes start once it is called). */
  load(onCluster: (cluster: Readonly<Record<string, unknown>> | undefined) => void): Promise<LoadedConfig>;
  /** Whether the input matrix starts from its init rows (no pretrained vectors, no resumed model), so its draft can be written while the job trains. */
  readonly draftInit: boolean;
  /** A directory of the command's own to remove at the end, whatever happens. */
  readonly scratch: string | null;
}

/**
 * A fastText command's run: the job loaded while its processes start (RoleStandby), the
 * previous run's files under `<output>.rowshard` removed once the job has been checked, the
 * model file's head and init rows drafted while it trains (ModelDraft), then the model files
 * written from its last checkpoint. Whatever fails, the processes not taken are let go, the
 * draft goes (a no-op once it is in place) and so does the scratch. Returns the exit code.
 */
export async function trainFastTextModel(run: FastTextRun): Promise<number> {
  const standby = new RoleStandby();
  let draft: ModelDraft | null = null;
  try {
    const loaded = await run.load(standby.startFor);
    rmSync(run.workDir, { recursive: true, force: true });
    mkdirSync(dirname(run.output), { recursive: true });
    draft = run.draftInit ? await startModelDraft(`${run.output}.bin`, loaded, run.modelArgs) : null;
    const code = await runTrain(loaded, standby);
    if (code !== 0) return code;
    await writeModelFromCheckpoint({
      workDir: run.workDir,
      job: loaded.job,
      dictionary: loaded.fastTextDictionary,
      output: run.output,
      modelArgs: run.modelArgs,
      outputMatrix: run.outputMatrix,
      draft,
      saveOutput: run.saveOutput,
      verbose: run.verbose,
    });
    return 0;
  } finally {
    standby.close();
    if (run.scratch) rmSync(run.scratch, { recursive: true, force: true });
    await draft?.abandon();
  }
}
