import { type CheckpointManifest, ErrorCodes, RowshardError } from '@rowshard/core';
import { withDeadline } from './with-deadline.js';

export type Phase = 'starting' | 'running' | 'recovering' | 'done';

/** A checkpoint to restore: its directory and verified manifest. */
export interface RestoreSource {
  readonly dir: string;
  readonly manifest: CheckpointManifest;
}

export interface RecoveryHooks {
  /** Whether every shard has a ready parameter server. */
  shardsComplete(): boolean;
  /** The newest checkpoint that verifies, or null (none kept, or none yet). */
  latestCheckpoint(): RestoreSource | null;
  /** Restore every shard and the dense state to `source` (null: the initial state) in `epoch`, then reset the clocks to `step`. */
  restore(source: RestoreSource | null, step: number, epoch: number): Promise<void>;
  /** Fail every wait on a step with `reason` (recovery is starting). */
  pause(reason: RowshardError): void;
  emit(event: 'ready' | 'recovered' | 'recovering' | 'fault', payload: unknown): void;
}

/**
 * The coordinator's phase and epoch, and the way back from a failure (docs/ARCHITECTURE.md,
 * "Failure model"). starting → running once every shard is up and restored; running →
 * recovering when a shard is lost or a worker reports an error it cannot handle; recovering →
 * running once every shard is back and restored to the last checkpoint, in a new epoch;
 * running → done when every worker has finished. Workers wait for `ready` (registration,
 * recovery_wait), each wait bounded.
 */
export class Recovery {
  phase: Phase = 'starting';
  /**
   * Bumped at every restore. It starts from the clock, so a restarted coordinator's epochs
   * are all newer than anything a worker or shard of the previous one holds.
   */
  epoch = Date.now();
  /** The epoch this coordinator started in: `epoch - firstEpoch` counts its restores (what people see). */
  readonly firstEpoch = this.epoch;
  /** Step the workers (re)start from. */
  resumeStep = 0;
  /** Restores after a failure during the run. */
  recoveries = 0;
  private source: RestoreSource | null = null;
  private ready!: Promise<void>;
  private markReady!: () => void;
  private failReady!: (e: Error) => void;
  /** Why the job stopped for good before it could run (storage not shared), or null. */
  private stoppedWith: RowshardError | null = null;
  private preparing: Promise<void> | null = null;
  private prepareAgain = false;

  constructor(private readonly hooks: RecoveryHooks) {
    this.resetReady();
  }

  /** At start-up: resume from this checkpoint instead of the initial state. */
  resumeFrom(source: RestoreSource): void {
    this.source = source;
    this.resumeStep = source.manifest.step;
  }

  private resetReady(): void {
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failReady = reject;
    });
    this.ready.catch(() => {});
    if (this.stoppedWith) this.failReady(this.stoppedWith);
  }

  /** The job cannot run: every wait for the cluster (registration, recovery) fails with `error`. */
  stop(error: RowshardError): void {
    this.stoppedWith = error;
    this.failReady(error);
  }

  /** Resolves once the cluster is running (E_TIMEOUT after `ms`). */
  whenReady(ms: number, what: string): Promise<void> {
    return withDeadline(this.ready, ms, what);
  }

  /** Refuses step traffic while the job is not running, or from an older epoch. */
  checkRunning(epoch: number | undefined): void {
    if (this.phase === 'recovering' || this.phase === 'starting') {
      throw new RowshardError(
        ErrorCodes.PAUSED,
        `training is paused (${this.phase === 'starting' ? 'the coordinator is starting' : 'recovery'})`,
      );
    }
    if (epoch !== undefined && epoch < this.epoch) {
      throw new RowshardError(ErrorCodes.STALE_EPOCH, `request from epoch ${epoch}; the job is in epoch ${this.epoch}`);
    }
  }

  /** Every shard is ready: prepare the job, unless it is already running or done. */
  shardsReady(): void {
    if (this.stoppedWith) return;
    if (this.hooks.shardsComplete() && this.phase !== 'running' && this.phase !== 'done') void this.prepare();
  }

  /**
   * Restore or load the shards' state, then let workers in. Runs one at a time; a request
   * while one runs makes it run again afterwards (a shard may have changed meanwhile).
   */
  private prepare(): Promise<void> {
    if (this.preparing) {
      this.prepareAgain = true;
      return this.preparing;
    }
    this.preparing = this.prepareOnce().finally(() => {
      this.preparing = null;
      const again = this.prepareAgain;
      this.prepareAgain = false;
      if (again) this.shardsReady();
    });
    return this.preparing;
  }

  private async prepareOnce(): Promise<void> {
    try {
      this.epoch++;
      if (this.phase === 'recovering') {
        this.source = this.hooks.latestCheckpoint();
        this.resumeStep = this.source?.manifest.step ?? 0;
      }
      await this.hooks.restore(this.source, this.resumeStep, this.epoch);
      // A shard registered again meanwhile and was reset, maybe after its restore: restore
      // again once it is ready (the `finally` in prepare) before letting any worker in.
      if (this.prepareAgain) return;
      const wasRecovering = this.phase === 'recovering';
      this.phase = 'running';
      this.hooks.emit(wasRecovering ? 'recovered' : 'ready', { step: this.resumeStep, epoch: this.epoch });
      this.markReady();
    } catch (e) {
      // A shard we counted on is unreachable: its disconnect will mark it, and its return
      // (or a replacement) triggers the next attempt; retry anyway in case it was transient.
      this.hooks.emit('fault', `preparing the shards failed: ${(e as Error).message}`);
      setTimeout(() => this.shardsReady(), 500).unref();
    }
  }

  /**
   * A PS registered (a shard's first, or one again): it starts empty. Mid-run every shard goes
   * back to the last checkpoint; a restore under way does not count, as it may have reached
   * that PS before the reset.
   */
  shardRegistered(reason: string): void {
    if (this.phase === 'running') this.start(reason);
    else if (this.preparing) this.prepareAgain = true;
  }

  /** Pause everything and go back to the last checkpoint once every shard is up. */
  start(reason: string): void {
    if (this.phase === 'recovering' || this.phase === 'done') return;
    if (this.phase !== 'starting') this.recoveries++;
    this.phase = 'recovering';
    this.resetReady();
    this.hooks.pause(new RowshardError(ErrorCodes.PAUSED, `training is paused: ${reason}; it resumes from the last checkpoint`));
    this.hooks.emit('recovering', { reason, epoch: this.epoch });
    this.hooks.emit('fault', reason);
  }

  /**
   * A worker hit an error it cannot handle alone. If no recovery is under way for its epoch,
   * one starts (at once if every shard is still up).
   */
  workerReported(epoch: number, why: string): void {
    if (this.phase !== 'running' || epoch < this.epoch) return;
    this.start(why);
    this.shardsReady();
  }

  finish(): void {
    this.phase = 'done';
  }
}
