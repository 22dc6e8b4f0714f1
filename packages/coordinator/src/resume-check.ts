import { readdirSync } from 'node:fs';
import {
  type CheckpointManifest,
  checkCheckpointFitsJob,
  ErrorCodes,
  type JobConfig,
  type PsTableConfig,
  parseJobConfig,
  RowshardError,
} from '@rowshard/core';
import { type ModuleImporter, resolveJob } from '@rowshard/nn';
import { CheckpointStore, type SkippedCheckpoint } from './checkpoint-store.js';
import { describeJobChanges, jobIdentity } from './job-identity.js';

export interface ResumeSource {
  readonly dir: string;
  readonly manifest: CheckpointManifest;
}

export interface ResumePlan {
  /** The checkpoint the run starts from; null: from the initial state. */
  readonly from: ResumeSource | null;
  /** The job is unchanged and its checkpoint is at its last step: there is nothing to train. */
  readonly complete: boolean;
}

const how = (dir: string) =>
  `To continue from it with this job's settings: --resume latest (checkpoint.resume: latest); to start fresh, removing the checkpoints in ${dir}: --resume none; or give another --checkpoint-dir`;

/**
 * Where a run starts, by `checkpoint.resume`:
 * - `auto` (the default): the newest checkpoint that verifies, if this same job wrote it (its
 *   manifest's fingerprint, jobIdentity); a checkpoint of a changed job stops the run
 *   (E_BAD_CHECKPOINT naming what changed and how to resume or start fresh), so new settings
 *   never silently continue an old run; none: the initial state.
 * - `latest`: the newest checkpoint that verifies, whatever settings changed.
 * - a name (`step-00000050`): that checkpoint, which must exist and verify.
 * - `none`: the initial state.
 * Whichever is taken must hold the job's tables (checkCheckpointFitsJob). An unchanged job
 * whose checkpoint is at its last step is complete (nothing to train); a changed one there is
 * refused, as its new settings would train nothing. Checkpoints passed over go to `onSkipped`.
 */
export function planResume(
  job: JobConfig,
  psTables: readonly PsTableConfig[],
  onSkipped: (error: RowshardError, skipped: SkippedCheckpoint) => void = () => {},
): ResumePlan {
  const policy = job.checkpoint;
  if (!policy || policy.resume === 'none') return { from: null, complete: false };
  const mode = policy.resume;
  const store = new CheckpointStore({ ...policy, resume: mode === 'auto' ? 'latest' : mode }, { create: false });
  const named: { error: RowshardError | null } = { error: null };
  const found = store.findResumable((e, skipped) => {
    if (mode !== 'auto' && mode !== 'latest') named.error = e;
    else onSkipped(e, skipped);
  });
  if (!found) {
    if (named.error !== null) {
      const have = checkpointNames(policy.dir);
      throw new RowshardError(
        ErrorCodes.BAD_CHECKPOINT,
        `cannot resume from ${mode}: ${named.error.message} (${policy.dir} has ${have.length ? have.join(', ') : 'no checkpoints'})`,
        { file: policy.dir, field: 'checkpoint.resume' },
      );
    }
    return { from: null, complete: false };
  }
  // Other tables first: that the state does not fit says more than which setting changed.
  checkCheckpointFitsJob(found.manifest, psTables, found.dir);
  const identity = jobIdentity(job);
  const saved = found.manifest.job;
  const unchanged = saved?.fingerprint === identity.fingerprint;
  if (mode === 'auto' && !unchanged) {
    const what = saved
      ? `written by this job with other settings: ${describeJobChanges(saved.settings, identity.settings)}`
      : 'it does not record its job (written by rowshard before job fingerprints)';
    throw new RowshardError(
      ErrorCodes.BAD_CHECKPOINT,
      `${found.dir} is not a checkpoint of this job (${what}); a changed job does not resume on its own. ${how(policy.dir)}`,
      { file: found.dir, field: 'checkpoint.resume' },
    );
  }
  if (found.manifest.step >= job.steps) {
    // The same job, finished: nothing to do. New settings that would train nothing: a mistake.
    if (unchanged) return { from: found, complete: true };
    throw new RowshardError(
      ErrorCodes.BAD_CHECKPOINT,
      `${found.dir} is at step ${found.manifest.step} and this job has ${job.steps} steps: nothing would be trained. Give more steps, or start fresh with --resume none`,
      { file: found.dir, field: 'checkpoint.resume' },
    );
  }
  return { from: found, complete: false };
}

/** The checkpoint directories' names (step-NNNNNNNN), oldest first. */
export function checkpointNames(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((d) => /^step-\d{8}$/.test(d))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Before any process starts (`rowshard train`): where the run would start (planResume), so a
 * changed job, a missing named checkpoint or a checkpoint of other tables stops it with
 * exit 2. `job` has absolute paths.
 */
export async function checkResumeFits(job: Record<string, unknown>, importModule: ModuleImporter): Promise<ResumePlan> {
  const parsed = parseJobConfig(job);
  if (!parsed.checkpoint || parsed.checkpoint.resume === 'none') return { from: null, complete: false };
  const { job: resolved, psTables } = await resolveJob(job, importModule);
  return planResume(resolved, psTables);
}
