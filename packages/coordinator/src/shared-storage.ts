import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  ErrorCodes,
  RowshardError,
  STORAGE_MARKER_FILE,
  STORAGE_MARKER_FORMAT,
  type StorageMarker,
  type StorageProof,
  storageMarkerNonce,
} from '@rowshard/core';
import { writeTextDurably } from './durable-file.js';

/** How long a failed check waits for the other shards' answers before stopping the job. */
export const STORAGE_CHECK_GRACE_MS = 10_000;

/** One shard's answer: it sees the coordinator's directory, or the problem. */
type Outcome = { readonly ok: true } | { readonly ok: false; readonly who: string; readonly problem: string };

/**
 * The coordinator's half of the shared-storage check (STORAGE_MARKER_FILE in the core).
 * At start it creates the checkpoint directory and writes the marker with a fresh nonce; each
 * registering parameter server is told the directory (`register_ps.storage`) and answers what
 * it read (`ps_ready.storage`). A wrong or missing answer refuses that shard
 * (E_STORAGE_NOT_SHARED); once every shard has answered, or `graceMs` after the first
 * refusal, `onStop` gets one error naming every shard that does not share the directory and
 * what to mount. Where the marker cannot be written (a read-only or full disk) nothing is
 * checked: `unchecked` says why, and every checkpoint then fails and is reported as usual.
 */
export class SharedStorageCheck {
  readonly unchecked: string | null;
  private readonly nonce: string | null;
  private readonly outcomes = new Map<number, Outcome>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly numShards: number,
    private readonly onStop: (error: RowshardError) => void,
    private readonly graceMs = STORAGE_CHECK_GRACE_MS,
  ) {
    const nonce = randomBytes(16).toString('hex');
    const marker: StorageMarker = {
      format: STORAGE_MARKER_FORMAT,
      nonce,
      writtenBy: `rowshard coordinator on ${hostname()} (pid ${process.pid})`,
      createdAt: new Date().toISOString(),
    };
    let unchecked: string | null = null;
    try {
      mkdirSync(dir, { recursive: true });
      writeTextDurably(this.file, `${JSON.stringify(marker, null, 2)}\n`);
    } catch (e) {
      unchecked = `could not write ${this.file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}), so whether the parameter servers share ${dir} is not checked`;
    }
    this.unchecked = unchecked;
    this.nonce = unchecked ? null : nonce;
  }

  get file(): string {
    return join(this.dir, STORAGE_MARKER_FILE);
  }

  /** What `register_ps` tells a parameter server to read back; null when nothing is checked. */
  get request(): { dir: string } | null {
    return this.nonce === null ? null : { dir: this.dir };
  }

  /**
   * Records shard `shard`'s answer; returns the error to refuse it with, or null when it
   * sees this coordinator's marker. `who` names the parameter server (its name or URL).
   */
  check(shard: number, who: string, proof: StorageProof | undefined): RowshardError | null {
    if (this.nonce === null) return null;
    const problem = this.problemOf(proof);
    this.outcomes.set(shard, problem === null ? { ok: true } : { ok: false, who, problem });
    this.decide();
    if (problem === null) return null;
    return new RowshardError(
      ErrorCodes.STORAGE_NOT_SHARED,
      `this parameter server (shard ${shard}) does not see the coordinator's checkpoint directory ${this.dir}: ${problem}. ${this.remedy()}`,
      { dir: this.dir, shard },
    );
  }

  private problemOf(proof: StorageProof | undefined): string | null {
    if (proof?.nonce === this.nonce) return null;
    if (proof?.problem) return proof.problem;
    if (proof?.nonce) {
      return `its ${this.file} holds another nonce than the one this coordinator wrote: its ${this.dir} is another directory than the coordinator's (with an older marker), or a second coordinator writes to the same directory`;
    }
    return 'it did not read the storage marker back (a parameter server older than this coordinator?)';
  }

  /** Stops the job once every shard has answered (or the grace period is over) and one was refused. */
  private decide(): void {
    if (this.stopped) return;
    const failed = [...this.outcomes.values()].some((o) => !o.ok);
    if (!failed) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    if (this.outcomes.size >= this.numShards) {
      this.stop();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      if ([...this.outcomes.values()].some((o) => !o.ok)) this.stop();
    }, this.graceMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopped = true;
    const failed: { shard: number; label: string; problem: string }[] = [];
    const shared: number[] = [];
    const silent: number[] = [];
    for (let shard = 0; shard < this.numShards; shard++) {
      const o = this.outcomes.get(shard);
      if (!o) silent.push(shard);
      else if (o.ok) shared.push(shard);
      else failed.push({ shard, label: `shard ${shard} (${o.who})`, problem: o.problem });
    }
    const shards = failed.length === 1 ? 'the parameter server of' : 'the parameter servers of';
    const notes = [
      shared.length > 0 ? `shards ${shared.join(', ')} do share it` : '',
      silent.length > 0 ? `shards ${silent.join(', ')} had not registered yet` : '',
    ].filter(Boolean);
    const error = new RowshardError(
      ErrorCodes.STORAGE_NOT_SHARED,
      `checkpoint storage is not shared: the coordinator and ${shards} ${failed.map((f) => f.label).join(', ')} do not see the same checkpoint directory ${this.dir}, so no checkpoint could be written or restored; the job stops. ${failed.map((f) => `Shard ${f.shard}: ${f.problem}`).join('. ')}.${notes.length > 0 ? ` (${notes.join('; ')}.)` : ''} ${this.remedy()}`,
      { dir: this.dir },
    );
    // After the refused shard's reply has gone out.
    setImmediate(() => this.onStop(error));
  }

  private remedy(): string {
    return `Mount one shared volume or file system at ${this.dir} in the coordinator and in every parameter server (docker compose: the named volume \`checkpoints\` at /checkpoints; Swarm across nodes or Kubernetes: a ReadWriteMany volume; hosts: NFS or similar), and start each parameter server with --checkpoint-root (ROWSHARD_CHECKPOINT_ROOT) at ${this.dir} or a directory above it.`;
  }

  /** Removes the marker at shutdown, unless a newer coordinator has written its own since. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.nonce === null) return;
    try {
      if (storageMarkerNonce(readFileSync(this.file, 'utf8')) === this.nonce) rmSync(this.file, { force: true });
    } catch {
      // Gone already, or the disk went away: nothing to clean up.
    }
  }
}
