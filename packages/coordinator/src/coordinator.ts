import { EventEmitter } from 'node:events';
import {
  type CoordinatorProtocol,
  coordinatorProtocol,
  coordinatorSenders,
  ErrorCodes,
  type Handlers,
  type JobConfig,
  type JobResult,
  type PsTableConfig,
  RowshardError,
  requestLimitsOf,
  totalWorkers,
} from '@rowshard/core';
import type { Model } from '@rowshard/nn';
import { ClusterAuth, type ConnectionInfo, RpcServer } from '@rowshard/transport';
import { CheckpointScheduler } from './checkpoint-scheduler.js';
import { CheckpointStore, type SkippedCheckpoint } from './checkpoint-store.js';
import type { CoordinatorOptions } from './coordinator-options.js';
import { coordinatorHttpHandler } from './http.js';
import { loadTablesIntoShards } from './initial-state.js';
import { type CoordinatorJob, setUpJob } from './job-setup.js';
import { ShardTable } from './membership.js';
import { coordinatorMetrics } from './metrics.js';
import { RankPool } from './rank-pool.js';
import { Recovery, type RestoreSource } from './recovery.js';
import { planResume } from './resume-check.js';
import { ShardLinks, type ShardLoad } from './shard-links.js';
import { SharedStorageCheck } from './shared-storage.js';
import type { CoordinatorStatus } from './status.js';
import { TrainingSteps } from './training-steps.js';

export type { JobResult } from '@rowshard/core';
export type { CoordinatorOptions } from './coordinator-options.js';

/**
 * The coordinator: membership (shards and worker ranks), the job's configuration for every
 * role, the training clock (TrainingSteps), checkpoints, and recovery (Recovery). It never
 * touches embedding rows except to load an initial state. This file wires those parts
 * together and holds the coordinator's one dispatch table, from message type to handler.
 *
 * Failure model (docs/ARCHITECTURE.md): when a PS's connection drops (a crash, or no
 * heartbeat for two intervals) the coordinator pauses every worker with E_PAUSED, waits for
 * the shard to come back, restores every shard and the dense state to the last checkpoint
 * (or the initial state), and lets the workers resume from that step in a new epoch. A lost
 * trainer's ranks are handed to its replacement, which rejoins at the current step.
 *
 * Shared checkpoint storage is checked at registration (SharedStorageCheck): a parameter
 * server that does not see the coordinator's checkpoint directory is refused, and the job
 * stops ('stopped', E_STORAGE_NOT_SHARED) naming every such shard and what to mount.
 *
 * Events: 'ready', 'progress', 'eval', 'shards', 'checkpoint', 'checkpoint_failed',
 * 'checkpoint_skipped', 'recovering', 'recovered', 'done', 'fault', 'stopped'. Checkpoints
 * skipped at start-up, before anyone could listen, are in `skippedAtStart`; a storage check
 * that could not be made, in `storageUnchecked`.
 */
export class Coordinator extends EventEmitter {
  readonly job: JobConfig;
  readonly model: Model;
  readonly workers: number;
  private readonly psTables: readonly PsTableConfig[];
  private readonly shards: ShardTable;
  private readonly ranks: RankPool;
  private readonly checkpoints: CheckpointStore | null;
  private readonly checkpointing: CheckpointScheduler | null;
  private storage: SharedStorageCheck | null = null;
  /** Why the job stopped before it could run (E_STORAGE_NOT_SHARED), or null. */
  private stoppedWith: RowshardError | null = null;
  private readonly training: TrainingSteps;
  private readonly recovery: Recovery;
  private readonly links: ShardLinks;
  /** The credentials of the cluster token (null without one); the coordinator's own goes to the shards. */
  private readonly auth: ClusterAuth | null;
  private readonly credential: string | null;
  private server: RpcServer<CoordinatorProtocol> | null = null;
  private shardLoad: ShardLoad[] = [];
  /** False until the first restore: later ones start from fresh dense values even without a checkpoint. */
  private restoredOnce = false;
  private readonly resultPromise: Promise<JobResult>;
  private finish!: (r: JobResult) => void;
  /** The checkpoint this run resumed from at start, if any. */
  resumedFrom: { dir: string; step: number } | null = null;
  /** Checkpoints passed over at start-up (newer than `resumedFrom`, or every one if none verified). */
  readonly skippedAtStart: SkippedCheckpoint[] = [];
  private started = false;

  private constructor(
    private readonly options: CoordinatorOptions,
    private readonly setup: CoordinatorJob,
  ) {
    super();
    this.on('progress', () => void this.pollShards());
    this.job = setup.job;
    this.model = setup.model;
    this.psTables = setup.psTables;
    this.workers = totalWorkers(this.job.cluster);
    this.ranks = new RankPool(this.workers);
    this.shards = new ShardTable(this.job.cluster.ps);
    this.auth = options.token === null ? null : new ClusterAuth(options.token);
    this.credential = this.auth?.credential('coordinator') ?? null;
    this.links = new ShardLinks(this.credential);
    // Once started, a restore takes the newest checkpoint: this run's own (planResume chose
    // where it started, and removed any later state of another line of training).
    this.checkpoints = this.job.checkpoint ? new CheckpointStore({ ...this.job.checkpoint, resume: 'latest' }) : null;
    this.checkpointing = this.checkpoints
      ? new CheckpointScheduler({
          store: this.checkpoints,
          links: this.links,
          job: this.job,
          model: this.model,
          psTables: this.psTables,
          numShards: this.shards.numShards,
          workers: this.workers,
          dense: () => this.training.dense,
          epoch: () => this.recovery.epoch,
          emit: (info) => this.emit('checkpoint', info),
          emitFailed: (info) => this.emit('checkpoint_failed', info),
          fault: (reason) => this.emit('fault', reason),
        })
      : null;
    this.training = new TrainingSteps({
      job: this.job,
      model: this.model,
      ranks: this.ranks,
      initialDense: setup.initialDense,
      checkpointing: this.checkpointing,
      onProgress: (entry) => this.emit('progress', entry),
      onEval: (entry) => this.emit('eval', entry),
    });
    this.recovery = new Recovery({
      shardsComplete: () => this.shards.complete,
      latestCheckpoint: () => this.latestCheckpoint(),
      restore: (source, step, epoch) => this.restore(source, step, epoch),
      pause: (reason) => this.training.pause(reason),
      emit: (event, payload) =>
        this.emit(
          event,
          event === 'ready' || event === 'recovered' ? { shards: this.shards.shardUrls(), ...(payload as object) } : payload,
        ),
    });
    this.resultPromise = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const setup = await setUpJob(options.job, options.importModule, options.readJson);
    const c = new Coordinator(options, setup);
    const policy = c.job.checkpoint;
    const found = policy ? planResume(c.job, c.psTables, (_e, skipped) => c.skippedAtStart.push(skipped)).from : null;
    // Starting over from an earlier point: later checkpoints belong to a line of training this run abandons.
    if (policy && c.checkpoints && policy.resume !== 'auto' && policy.resume !== 'latest')
      c.checkpoints.removeAfter(found?.manifest.step ?? -1);
    c.started = true;
    if (c.job.checkpoint) {
      c.storage = new SharedStorageCheck(c.job.checkpoint.dir, c.shards.numShards, (e) => c.stop(e));
    }
    if (found) {
      c.recovery.resumeFrom(found);
      c.resumedFrom = { dir: found.dir, step: found.manifest.step };
    }
    const metrics = coordinatorMetrics(() => c.status());
    c.server = await RpcServer.listen({
      name: 'coordinator',
      protocol: coordinatorProtocol,
      handlers: c.handlers(),
      senders: coordinatorSenders,
      host: options.host,
      port: options.port,
      token: options.token,
      transport: options.transport,
      onFault: (conn, reason) => c.emit('fault', `connection ${conn.connectionId}: ${reason}`),
      onDisconnect: (conn) => c.onDisconnect(conn),
      onServed: metrics.onServed,
      httpHandler: coordinatorHttpHandler({
        dashboard: options.dashboard ?? false,
        auth: c.auth,
        status: () => c.status(),
        metrics: metrics.registry,
      }),
    });
    if (c.job.checkpoint?.everySeconds) {
      const timer = setInterval(() => c.requestCheckpoint(), c.job.checkpoint.everySeconds * 1000);
      timer.unref();
    }
    return c;
  }

  /** The coordinator's one dispatch table (docs/ARCHITECTURE.md, "Protocol"). */
  private handlers(): Handlers<CoordinatorProtocol, ConnectionInfo> {
    const { training, recovery, ranks, job } = this;
    return {
      register_ps: (req, conn) => {
        this.refuseIfStopped();
        const shard = this.shards.assign(conn.connectionId, req.url, req.shard, req.name);
        // A shard (re)configured mid-run starts empty: every shard goes back to the last checkpoint.
        recovery.shardRegistered(`parameter server for shard ${shard} registered again`);
        const config = {
          shard,
          numShards: this.shards.numShards,
          seed: job.seed,
          tables: this.psTables,
          sync: job.sync,
          workers: this.workers,
          stepTimeoutMs: job.timeouts.stepMs,
          limits: requestLimitsOf(job),
        };
        return { shard, config, ...(this.storage?.request ? { storage: this.storage.request } : {}) };
      },
      ps_ready: (req) => {
        if (req.shard >= this.shards.numShards || this.shards.urls[req.shard] !== req.url) {
          throw new RowshardError(ErrorCodes.BAD_REQUEST, `ps_ready from an unregistered shard (${req.shard}, ${req.url})`);
        }
        this.refuseIfStopped();
        const refused = this.storage?.check(req.shard, this.shards.describe(req.shard), req.storage);
        if (refused) throw refused;
        this.shards.markReady(req.shard);
        recovery.shardsReady();
        return {};
      },
      register_trainer: async (req, conn) => {
        this.refuseIfStopped();
        const ranksTaken = req.claim
          ? ranks.claim(conn.connectionId, req.claim)
          : ranks.take(conn.connectionId, req.workers ?? job.cluster.workersPerTrainer);
        await recovery.whenReady(job.timeouts.registrationMs, 'waiting for every parameter server to register');
        training.start();
        return {
          ranks: ranksTaken,
          workers: this.workers,
          job: this.options.job,
          shardUrls: this.shards.shardUrls(),
          startStep: training.startStepFor(ranksTaken),
          epoch: recovery.epoch,
        };
      },
      dense_get: () => training.denseParams(),
      dense_step: (req) => {
        const rank = ranks.check(req.rank, 'dense_step');
        recovery.checkRunning(req.epoch);
        return training.denseStep(req, rank);
      },
      clock_wait: async (req) => {
        const rank = ranks.check(req.rank, 'clock_wait');
        recovery.checkRunning(req.epoch);
        await training.clockWait(rank, req.clock);
        return {};
      },
      recovery_wait: async (req) => {
        recovery.workerReported(req.epoch, `worker ${req.rank} reported: ${req.reason || 'an error'}`);
        await recovery.whenReady(job.timeouts.registrationMs, 'waiting for the cluster to recover');
        return { resumeStep: recovery.resumeStep, epoch: recovery.epoch, shardUrls: this.shards.shardUrls() };
      },
      worker_done: (req) => {
        const result = training.workerDone(ranks.check(req.rank, 'worker_done'), recovery.recoveries);
        if (result && recovery.phase !== 'done') {
          recovery.finish();
          this.emit('done', result);
          this.finish(result);
        }
        return {};
      },
      eval_report: (req) => {
        // An evaluation from before a restore (an older epoch) describes parameters that are gone.
        recovery.checkRunning(req.epoch);
        training.evalReport(req);
        return {};
      },
      result: async () => ({ result: await this.resultPromise }),
      ping: () => ({}),
    };
  }

  get url(): string {
    if (!this.server) throw new Error('coordinator is not listening');
    return this.server.url;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Resolves with the job's result once every worker has finished. */
  result(): Promise<JobResult> {
    return this.resultPromise;
  }

  /** Why nothing was checked about shared checkpoint storage (the marker could not be written), or null. */
  get storageUnchecked(): string | null {
    return this.storage?.unchecked ?? null;
  }

  /** The job cannot run (storage not shared): every wait ends with `error`, and 'stopped' tells the process. */
  private stop(error: RowshardError): void {
    if (this.stoppedWith) return;
    this.stoppedWith = error;
    this.recovery.stop(error);
    this.training.pause(error);
    this.emit('stopped', error);
  }

  private refuseIfStopped(): void {
    if (this.stoppedWith) throw this.stoppedWith;
  }

  /** Takes a checkpoint at the next step boundary (the CLI sends SIGUSR2). */
  requestCheckpoint(): void {
    this.checkpointing?.request();
  }

  /** The checkpoint to restore; each one passed over is reported (`checkpoint_skipped`). */
  private latestCheckpoint(): RestoreSource | null {
    if (!this.checkpoints) return null;
    return this.checkpoints.findResumable((_e, skipped) => {
      if (this.started) this.emit('checkpoint_skipped', skipped);
      else this.skippedAtStart.push(skipped);
    });
  }

  private onDisconnect(conn: ConnectionInfo): void {
    const shard = this.shards.connectionClosed(conn.connectionId);
    if (shard !== null) {
      if (this.recovery.phase === 'done') return;
      this.shards.markGone(shard);
      this.recovery.start(`parameter server for shard ${shard} was lost`);
      return;
    }
    const unfinished = this.ranks.release(conn.connectionId);
    if (unfinished && unfinished.length > 0 && this.recovery.phase !== 'done') {
      this.emit('fault', `trainer with ranks ${unfinished.join(', ')} was lost; waiting for a replacement`);
    }
  }

  /**
   * Every shard and the dense state back to `source` (or the initial state) in `epoch`. Shards
   * are always restored: one that outlived a coordinator restart must drop state newer than
   * the source.
   */
  private async restore(source: RestoreSource | null, step: number, epoch: number): Promise<void> {
    const urls = this.shards.shardUrls();
    await ShardLinks.restoreAll(urls, this.credential, source, epoch, this.job.timeouts.stepMs);
    if (!source && Object.keys(this.setup.initialTables).length > 0) {
      await loadTablesIntoShards(this.setup.initialTables, this.model.tables, urls, this.credential, requestLimitsOf(this.job));
    }
    let dense = this.training.dense;
    if (source && this.checkpoints) {
      const snap = this.checkpoints.readDense(source.dir, source.manifest.dense);
      dense = this.training.freshDense();
      dense.restore(snap.values, snap.states, snap.version);
    } else if (this.restoredOnce) {
      dense = this.training.freshDense();
    }
    this.restoredOnce = true;
    this.training.resetTo(step, dense);
    // One connection per shard from here on: load statistics for progress, and checkpoint requests.
    this.links.reset(this.shards.shardUrls());
  }

  /** Each progress report while running refreshes the shards' load (subscribed once, in the constructor). */
  private async pollShards(): Promise<void> {
    if (this.recovery.phase !== 'running') return;
    try {
      this.shardLoad = await this.links.load();
      this.emit('shards', this.shardLoad);
    } catch (e) {
      this.emit('fault', `reading shard load: ${(e as Error).message}`);
    }
  }

  status(): CoordinatorStatus {
    return {
      phase: this.recovery.phase,
      epoch: this.recovery.epoch,
      restores: this.recovery.epoch - this.recovery.firstEpoch,
      shards: this.shards.urls,
      shardsReady: this.shards.ready,
      workers: this.workers,
      workersPerTrainer: this.job.cluster.workersPerTrainer,
      freeRanks: this.ranks.free,
      workersDone: this.ranks.done.size,
      denseVersion: this.training.dense.version,
      shardLoad: this.shardLoad,
      recoveries: this.recovery.recoveries,
      evals: this.training.evals,
      progressHistory: this.training.progress.history,
      secondsSinceCheckpoint: this.checkpointing?.secondsSinceLast ?? null,
      checkpoints: this.checkpointing?.counts ?? null,
      rowCache: this.training.rowCacheTotals(),
      ...this.training.progress.summary(),
    };
  }

  async close(): Promise<void> {
    // Every wait on a step (the BSP barrier, SSP clocks, workers parked for a checkpoint) ends.
    this.training.pause(new RowshardError(ErrorCodes.CONNECTION_CLOSED, 'coordinator is shutting down'));
    this.storage?.close();
    await this.links.close();
    await this.server?.close();
  }
}
