import { ErrorCodes, RowshardError } from '../errors.js';
import type { PsTableConfig } from '../ps-config.js';
import { sparseRowOptimizer } from '../sparse/kernels.js';
import type { CheckpointManifest } from './manifest.js';

/**
 * Whether a checkpoint was written by a job with these tables: the same names, kinds, row
 * counts and dims, and the same optimizer kind with the same slots per row (learning rates
 * and schedules may change between runs; the shape of the state may not). A mismatch is
 * E_BAD_CHECKPOINT naming the checkpoint, the table and both values, so a resumed run stops
 * before any process starts instead of failing to register.
 */
export function checkCheckpointFitsJob(manifest: CheckpointManifest, tables: readonly PsTableConfig[], dir: string): void {
  const fail = (why: string) =>
    new RowshardError(
      ErrorCodes.BAD_CHECKPOINT,
      `${dir} was written by a different job: ${why}. Resume it with the job that wrote it, or start fresh (checkpoint.resume: none, or another checkpoint.dir)`,
      { file: dir },
    );
  const saved = new Map(manifest.tables.map((t) => [String(t.spec.name), t]));
  for (const t of tables) {
    const s = saved.get(t.spec.name);
    if (!s)
      throw fail(`it has no table '${t.spec.name}' (it has ${[...saved.keys()].map((n) => `'${n}'`).join(', ') || 'none'})`);
    const mine = {
      kind: t.spec.kind,
      numEmbeddings: t.spec.numEmbeddings,
      embeddingDim: t.spec.embeddingDim,
      optimizer: t.optimizer?.kind ?? 'none',
      stateFloats: t.optimizer ? sparseRowOptimizer(t.optimizer, t.spec.embeddingDim).stateFloatsPerRow : 0,
    };
    const theirs = {
      kind: s.spec.kind ?? 'dense',
      numEmbeddings: s.spec.numEmbeddings,
      embeddingDim: s.spec.embeddingDim,
      optimizer: (s.optimizer?.kind as string | undefined) ?? 'none',
      stateFloats: s.stateFloats,
    };
    for (const key of Object.keys(mine) as (keyof typeof mine)[]) {
      if (mine[key] !== theirs[key]) {
        throw fail(`table '${t.spec.name}' has ${key} ${String(theirs[key])} there and ${String(mine[key])} in this job`);
      }
    }
  }
  const extra = [...saved.keys()].filter((name) => !tables.some((t) => t.spec.name === name));
  if (extra.length > 0) throw fail(`it has tables this job does not: ${extra.map((n) => `'${n}'`).join(', ')}`);
}
