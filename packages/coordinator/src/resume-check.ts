import { checkCheckpointFitsJob, parseJobConfig } from '@rowshard/core';
import { type ModuleImporter, resolveJob } from '@rowshard/nn';
import { CheckpointStore } from './checkpoint-store.js';

/**
 * Before any process starts: the checkpoint this job would resume from (checkpoint.resume),
 * checked against the job's tables (checkCheckpointFitsJob). Throws E_BAD_CHECKPOINT naming
 * the table and both values; nothing to check when the job does not resume. `job` has
 * absolute paths.
 */
export async function checkResumeFits(job: Record<string, unknown>, importModule: ModuleImporter): Promise<void> {
  const parsed = parseJobConfig(job);
  if (!parsed.checkpoint || parsed.checkpoint.resume === 'none') return;
  // Checkpoints passed over are the coordinator's to report; only the one it would take matters here.
  const found = new CheckpointStore(parsed.checkpoint).findResumable(() => {});
  if (!found) return;
  const { psTables } = await resolveJob(job, importModule);
  checkCheckpointFitsJob(found.manifest, psTables, found.dir);
}
