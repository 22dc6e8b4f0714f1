import { ErrorCodes, RowshardError } from '../errors.js';

/**
 * A checkpoint is a directory `step-NNNNNNNN/` holding one safetensors file per shard (rows,
 * optimizer slots, row ids), one for the dense parameters and their optimizer state, and
 * `manifest.json`, written last (tmp → fsync → rename). A directory without a manifest is
 * not a checkpoint. The manifest records each file's size and sha256, so a truncated or
 * altered file is detected before anything is loaded.
 */
export const CHECKPOINT_FORMAT = 'rowshard-checkpoint/1';
export const SHARD_FILE_FORMAT = 'rowshard-shard/1';
export const DENSE_FILE_FORMAT = 'rowshard-dense/1';

export interface CheckpointFile {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface ShardFileInfo extends CheckpointFile {
  readonly shard: number;
  /** Rows saved per table (materialised rows only; the rest are their deterministic init). */
  readonly rows: Record<string, number>;
}

export interface CheckpointManifest {
  readonly format: typeof CHECKPOINT_FORMAT;
  /** Optimizer steps completed: training resumes at this step. */
  readonly step: number;
  readonly createdAt: string;
  readonly seed: number;
  readonly numShards: number;
  /**
   * Table specs (TableSpec JSON) with their optimizer config and state width, and the
   * table's optimizer step count (PyTorch's per-parameter `step`: the steps at which it was
   * not frozen; absent in manifests written before it was recorded).
   */
  readonly tables: readonly {
    spec: Record<string, unknown>;
    optimizer: Record<string, unknown> | null;
    stateFloats: number;
    optimizerStep?: number;
  }[];
  readonly shards: readonly ShardFileInfo[];
  readonly dense: CheckpointFile;
  readonly totalBytes: number;
  readonly durationMs: number;
  /**
   * Vocabulary files per table (formats/vocabulary-text: line i = row i), when the job has
   * one: a file in the checkpoint directory, named relative to it. Manifests written before
   * that hold an absolute path to the job's `vocab.txt`.
   */
  readonly vocab?: Record<string, string>;
  /** The job that wrote it: absent in checkpoints of rowshard before job fingerprints. */
  readonly job?: JobIdentity;
}

/**
 * What makes runs the same job (the settings that decide its numbers; not the cluster size,
 * logging or checkpoint policy) and their sha256. A run resumes a checkpoint on its own only
 * when the fingerprints match.
 */
export interface JobIdentity {
  readonly fingerprint: string;
  readonly settings: Record<string, unknown>;
}

export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

export function parseCheckpointManifest(value: unknown, where: string): CheckpointManifest {
  const bad = (why: string) => new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${where}: ${why}`, { file: where });
  if (!value || typeof value !== 'object') throw bad('manifest is not a JSON object');
  const m = value as Record<string, unknown>;
  if (m.format !== CHECKPOINT_FORMAT)
    throw bad(`unknown manifest format ${JSON.stringify(m.format)} (expected ${CHECKPOINT_FORMAT})`);
  if (typeof m.step !== 'number' || !Number.isInteger(m.step) || m.step < 0)
    throw bad('manifest.step must be a non-negative integer');
  if (typeof m.numShards !== 'number' || m.numShards < 1) throw bad('manifest.numShards must be positive');
  if (!Array.isArray(m.shards) || m.shards.length !== m.numShards)
    throw bad(`manifest lists ${Array.isArray(m.shards) ? m.shards.length : 0} shard files for ${m.numShards} shards`);
  const fileOk = (f: unknown): f is CheckpointFile =>
    !!f &&
    typeof f === 'object' &&
    typeof (f as CheckpointFile).file === 'string' &&
    typeof (f as CheckpointFile).sha256 === 'string' &&
    typeof (f as CheckpointFile).bytes === 'number';
  for (const s of m.shards) if (!fileOk(s) || (s.file as string).includes('/')) throw bad('a shard entry is malformed');
  if (!fileOk(m.dense)) throw bad('the dense entry is malformed');
  if (!Array.isArray(m.tables)) throw bad('manifest.tables must be a list');
  return m as unknown as CheckpointManifest;
}

/**
 * A failure to write part of a checkpoint as a typed error: `E_CHECKPOINT_WRITE` naming what
 * was being written and the system's reason (`ENOSPC: no space left on device`, `EROFS`, …),
 * with the errno code in `details.errno`. A RowshardError passes through unchanged.
 */
export function checkpointWriteError(what: string, cause: unknown): RowshardError {
  if (cause instanceof RowshardError) return cause;
  const errno = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : null;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new RowshardError(ErrorCodes.CHECKPOINT_WRITE, `writing ${what}: ${message}`, { file: what, errno });
}
