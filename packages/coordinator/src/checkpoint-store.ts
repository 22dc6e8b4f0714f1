import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import {
  buildSafetensorsHeader,
  CHECKPOINT_FORMAT,
  type CheckpointFile,
  type CheckpointManifest,
  checkpointDirName,
  checkpointWriteError,
  DENSE_FILE_FORMAT,
  ErrorCodes,
  parseCheckpointManifest,
  parseSafetensorsHeader,
  RowshardError,
  type TensorEntry,
  viewTensor,
} from '@rowshard/core';
import { crashPoint } from '@rowshard/transport';
import { writeFileDurably } from './durable-file.js';

/** Where checkpoints go and how often (job `checkpoint` section). */
export interface CheckpointPolicy {
  readonly dir: string;
  readonly everySteps: number | null;
  readonly everySeconds: number | null;
  /** Checkpoints kept; older ones are deleted after a new manifest is in place. */
  readonly keep: number;
  /** 'latest' (default), 'none', or a checkpoint directory name (step-00000050). */
  readonly resume: string;
}

export interface DenseSnapshot {
  readonly values: Record<string, Float32Array>;
  readonly states: Record<string, { step: number; buffers: Record<string, Float32Array> }>;
  readonly version: number;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A checkpoint passed over when looking for one to resume from: its directory name and why. */
export interface SkippedCheckpoint {
  /** The directory's name (step-00000050). */
  readonly name: string;
  readonly dir: string;
  readonly reason: string;
}

/**
 * The coordinator's side of checkpoints: the dense file, the manifest (written last: tmp →
 * fsync → rename → fsync of the directory), retention, and finding the newest checkpoint
 * that verifies: every file present with the recorded size and sha256. A checkpoint that
 * does not verify is reported by name and reason and skipped in favour of the one before it.
 * A write that fails throws `E_CHECKPOINT_WRITE`; `discard` then removes what was written.
 */
export class CheckpointStore {
  /** `create: false` only reads (a check before anything may be written). */
  constructor(
    readonly policy: CheckpointPolicy,
    { create = true }: { create?: boolean } = {},
  ) {
    if (!create) return;
    try {
      mkdirSync(policy.dir, { recursive: true });
    } catch {
      // A read-only or full disk must not stop training: each checkpoint then fails, with the reason.
    }
  }

  stepDir(step: number): string {
    return join(this.policy.dir, checkpointDirName(step));
  }

  writeDense(dir: string, snapshot: DenseSnapshot): CheckpointFile {
    const entries: TensorEntry[] = [];
    const chunks: Uint8Array[] = [];
    const steps: Record<string, number> = {};
    for (const [name, values] of Object.entries(snapshot.values)) {
      entries.push({ name, dtype: 'F32', shape: [values.length] });
      chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      const state = snapshot.states[name];
      steps[name] = state?.step ?? 0;
      for (const [buf, arr] of Object.entries(state?.buffers ?? {})) {
        entries.push({ name: `${name}.${buf}`, dtype: 'F32', shape: [arr.length] });
        chunks.push(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      }
    }
    const { header } = buildSafetensorsHeader(entries, {
      format: DENSE_FILE_FORMAT,
      steps: JSON.stringify(steps),
      version: String(snapshot.version),
    });
    const path = join(dir, 'dense.safetensors');
    try {
      mkdirSync(dir, { recursive: true });
      return writeFileDurably(path, [header, ...chunks]);
    } catch (e) {
      throw checkpointWriteError(path, e);
    }
  }

  /**
   * A copy of a table's vocabulary beside the rows (`<table>.vocab.txt`), so the checkpoint
   * directory names its words wherever it is moved; the manifest names the copy relative to
   * the directory. Returns that name, or null when the source cannot be read (the checkpoint
   * is still valid without it; `export` and `similar` then take `--vocab`).
   */
  writeVocabulary(dir: string, table: string, source: string): string | null {
    let text: Buffer;
    try {
      text = readFileSync(source);
    } catch {
      return null;
    }
    const path = join(dir, `${table}.vocab.txt`);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileDurably(path, [text]);
    } catch (e) {
      throw checkpointWriteError(path, e);
    }
    return basename(path);
  }

  readDense(dir: string, info: CheckpointFile): DenseSnapshot {
    const path = join(dir, info.file);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new RowshardError(
        ErrorCodes.BAD_CHECKPOINT,
        `${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        { file: path },
      );
    }
    const header = parseSafetensorsHeader(bytes, bytes.length, path);
    if (header.metadata.format !== DENSE_FILE_FORMAT)
      throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${path}: not a rowshard dense file`, { file: path });
    const steps = JSON.parse(header.metadata.steps ?? '{}') as Record<string, number>;
    const values: Record<string, Float32Array> = {};
    const states: DenseSnapshot['states'] = {};
    for (const t of header.tensors) {
      const data = Float32Array.from(
        viewTensor(bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end), 'F32') as Float32Array,
      );
      if (t.name in steps) {
        values[t.name] = data;
        continue;
      }
      // "<param>.<buffer>": the param name may itself contain dots (fc1.weight.exp_avg).
      const param = Object.keys(steps).find((p) => t.name.startsWith(`${p}.`));
      if (!param) continue;
      const buffer = t.name.slice(param.length + 1);
      states[param] ??= { step: steps[param], buffers: {} };
      states[param].buffers[buffer] = data;
    }
    for (const p of Object.keys(steps)) states[p] ??= { step: steps[p], buffers: {} };
    return { values, states, version: Number(header.metadata.version ?? 0) };
  }

  /**
   * Writes manifest.json last and durably: once it is renamed into place the checkpoint
   * exists. Throws `E_CHECKPOINT_WRITE` if that cannot be done (the caller discards the
   * directory). Retention is the caller's next step (`prune`).
   */
  commit(dir: string, manifest: Omit<CheckpointManifest, 'format'>): CheckpointManifest {
    const full: CheckpointManifest = { format: CHECKPOINT_FORMAT, ...manifest };
    const text = new TextEncoder().encode(`${JSON.stringify(full, null, 2)}\n`);
    const tmp = join(dir, 'manifest.json.tmp');
    const path = join(dir, 'manifest.json');
    try {
      const fd = openSync(tmp, 'w');
      try {
        let off = 0;
        while (off < text.length) off += writeSync(fd, text, off, text.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      crashPoint('before-manifest-rename', manifest.step);
      renameSync(tmp, path);
      fsyncDir(dir);
    } catch (e) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // The write's own error says more than a failed clean-up.
      }
      throw checkpointWriteError(path, e);
    }
    crashPoint('after-manifest-rename', manifest.step);
    return full;
  }

  /**
   * Removes what a failed checkpoint left in `dir` (shard files, the dense file, `.tmp`
   * files): the directory never had a manifest, so nothing refers to it. Returns the reason
   * if it could not be removed.
   */
  discard(dir: string): string | null {
    try {
      rmSync(dir, { recursive: true, force: true });
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** Checkpoint directories (with or without a manifest), newest first. */
  private stepDirs(): string[] {
    if (!existsSync(this.policy.dir)) return [];
    return readdirSync(this.policy.dir)
      .filter((d) => /^step-\d{8}$/.test(d))
      .sort()
      .reverse();
  }

  /** Keeps the newest `keep` checkpoints; removes older ones and older manifest-less leftovers. */
  prune(): void {
    let kept = 0;
    for (const d of this.stepDirs()) {
      const full = join(this.policy.dir, d);
      const complete = existsSync(join(full, 'manifest.json'));
      if (complete && kept < this.policy.keep) {
        kept++;
        continue;
      }
      if (kept > 0) rmSync(full, { recursive: true, force: true });
    }
  }

  /**
   * Removes the checkpoints after `step` (every one for -1), finished or not: a run that
   * starts over from an earlier point (resume none, or a named checkpoint) must not leave a
   * later state of another line of training for a restore to pick up. Returns their names.
   */
  removeAfter(step: number): string[] {
    const removed: string[] = [];
    for (const d of this.stepDirs()) {
      if (Number(d.slice('step-'.length)) <= step) continue;
      rmSync(join(this.policy.dir, d), { recursive: true, force: true });
      removed.push(d);
    }
    return removed;
  }

  /** Checks every file of a checkpoint against its manifest; throws naming the first bad file. */
  verify(dir: string): CheckpointManifest {
    const manifestPath = join(dir, 'manifest.json');
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch (e) {
      throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${manifestPath}: unreadable (${(e as Error).message})`, {
        file: manifestPath,
      });
    }
    const manifest = parseCheckpointManifest(json, manifestPath);
    for (const f of [...manifest.shards, manifest.dense]) {
      const path = join(dir, f.file);
      if (!existsSync(path)) throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${path}: missing`, { file: path });
      const size = statSync(path).size;
      if (size !== f.bytes) {
        throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${path}: ${size} bytes, the manifest says ${f.bytes} (truncated?)`, {
          file: path,
        });
      }
      if (sha256File(path) !== f.sha256) {
        throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${path}: sha256 does not match the manifest (corrupted)`, {
          file: path,
        });
      }
    }
    return manifest;
  }

  /**
   * The checkpoint to resume from: the named one, or the newest that verifies. Each one passed
   * over (no manifest: an unfinished checkpoint; a file that does not verify) is reported
   * through `onSkipped` with the error and its directory, and the search goes on to older ones.
   */
  findResumable(
    onSkipped: (error: RowshardError, skipped: SkippedCheckpoint) => void,
  ): { dir: string; manifest: CheckpointManifest } | null {
    if (this.policy.resume === 'none') return null;
    const candidates = this.policy.resume === 'latest' ? this.stepDirs() : [this.policy.resume];
    const skip = (dir: string, e: RowshardError) => onSkipped(e, { name: basename(dir), dir, reason: e.message });
    for (const d of candidates) {
      const dir = join(this.policy.dir, d);
      if (!existsSync(join(dir, 'manifest.json'))) {
        const why = !existsSync(dir)
          ? 'no such checkpoint'
          : statSync(dir).isDirectory()
            ? 'no manifest.json (an unfinished checkpoint)'
            : 'not a directory';
        skip(dir, new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${dir}: ${why}`, { file: dir }));
        continue;
      }
      try {
        return { dir, manifest: this.verify(dir) };
      } catch (e) {
        if (!(e instanceof RowshardError)) throw e;
        skip(dir, e);
      }
    }
    return null;
  }
}
