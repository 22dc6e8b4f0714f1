import { EventEmitter } from 'node:events';
import {
  type CheckpointManifest,
  type Envelope,
  ErrorCodes,
  findGroup,
  type JobConfig,
  parseJobConfig,
  RowshardError,
  type SparseOptimizerConfig,
  sparseConfigOf,
  type TableSpec,
  totalWorkers,
} from '@rowshard/core';
import { applyTableOverrides, type Model, type ModuleImporter, resolveModel } from '@rowshard/nn';
import { type ConnectionInfo, RpcServer, StepBarrier, type TransportOptions } from '@rowshard/transport';
import { CheckpointScheduler } from './checkpoint-scheduler.js';
import { CheckpointStore } from './checkpoint-store.js';
import { DenseState } from './dense-state.js';
import { coordinatorHttpHandler } from './http.js';
import { loadInitialState, loadTablesIntoShards } from './initial-state.js';
import { ShardTable } from './membership.js';
import { coordinatorMetrics } from './metrics.js';
import { loadPretrained } from './pretrained.js';
import { ProgressLog } from './progress.js';
import { RankPool } from './rank-pool.js';
import { ShardLinks, type ShardLoad } from './shard-links.js';
import { SspClock } from './ssp-clock.js';
import { withDeadline } from './with-deadline.js';

export interface CoordinatorOptions {
  /** The job as JSON (paths inside already absolute). */
  readonly job: Record<string, unknown>;
  readonly host?: string;
  readonly port?: number;
  readonly token: string | null;
  readonly transport?: Partial<TransportOptions>;
  readonly importModule: ModuleImporter;
  /** Reads a JSON file (initial-state fixtures). */
  readonly readJson: (path: string) => unknown;
  /** Serve the dashboard page and /api/status on the RPC port (/metrics is always served). */
  readonly dashboard?: boolean;
}

export interface JobResult {
  readonly steps: number;
  readonly examples: number;
  readonly seconds: number;
  /** BSP: the global loss of each step. ASP/SSP: each worker step's loss, in arrival order. */
  readonly losses: number[];
  readonly denseParams: Record<string, Float32Array>;
  /** SSP only: the largest clock gap any worker started a step with. */
  readonly maxObservedLag: number | null;
  /** Restores after a failure, and the steps they cost. */
  readonly recoveries: number;
  /** Held-out evaluations, in step order. */
  readonly evals: readonly { step: number; loss: number; accuracy: number | null; examples: number }[];
  readonly lastCheckpointStep: number | null;
}

interface StepReport {
  readonly grads: Record<string, Float32Array>;
  readonly loss: number;
  readonly examples: number;
}

type Phase = 'starting' | 'running' | 'recovering' | 'done';

/**
 * The coordinator: membership (shards and worker ranks), the job's configuration for every
 * role, the step clock (BSP barrier, SSP clock), the dense parameters and their optimizer,
 * losses and progress, checkpoints, and recovery. It never touches embedding rows except to
 * load an initial state.
 *
 * Failure model: when a PS's connection drops (a crash, or no heartbeat for two intervals)
 * the coordinator pauses every worker with E_PAUSED, waits for the shard to come back (the
 * local launcher restarts it; in a cluster a replacement registers), restores every shard
 * and the dense state to the last checkpoint (or the initial state), and lets the workers
 * resume from that step in a new epoch. A lost trainer's ranks are handed to its replacement,
 * which rejoins at the current step.
 *
 * Events: 'ready', 'progress', 'shards', 'checkpoint', 'recovering', 'recovered', 'done', 'fault'.
 */
export class Coordinator extends EventEmitter {
  readonly job: JobConfig;
  readonly model: Model;
  readonly workers: number;
  private readonly shards: ShardTable;
  private dense: DenseState;
  private readonly barrier: StepBarrier<StepReport> | null;
  private readonly clock: SspClock | null;
  private readonly psTables: { spec: TableSpec; optimizer: SparseOptimizerConfig | null }[];
  private readonly checkpoints: CheckpointStore | null;
  private server: RpcServer | null = null;
  private phase: Phase = 'starting';
  /**
   * Bumped at every restore. It starts from the clock, so a restarted coordinator's epochs
   * are all newer than anything a worker or shard of the previous one holds.
   */
  epoch = Date.now();
  /** Step the workers (re)start from. */
  private resumeStep = 0;
  private restoreSource: { dir: string; manifest: CheckpointManifest } | null = null;
  private readonly ranks: RankPool;
  private ready!: Promise<void>;
  private markReady!: () => void;
  private readonly resultPromise: Promise<JobResult>;
  private finish!: (r: JobResult) => void;
  private progress: ProgressLog;
  private startedAt = 0;
  private readonly links: ShardLinks;
  private shardLoad: ShardLoad[] = [];
  private readonly checkpointing: CheckpointScheduler | null;
  private recoveries = 0;
  private readonly workerSteps: number[];
  /** False until the first prepare(): later ones reset shards even without a checkpoint. */
  private restoredOnce = false;
  /** The checkpoint this run resumed from at start, if any. */
  resumedFrom: { dir: string; step: number } | null = null;

  private constructor(
    private readonly options: CoordinatorOptions,
    model: Model,
    private readonly initialDense: Record<string, Float32Array>,
    private readonly initialTables: Record<string, Float32Array>,
  ) {
    super();
    this.model = model;
    this.job = parseJobConfig(
      options.job,
      model.tables.map((t) => t.name),
    );
    this.workers = totalWorkers(this.job.cluster);
    this.ranks = new RankPool(this.workers);
    this.workerSteps = new Array(this.workers).fill(0);
    this.shards = new ShardTable(this.job.cluster.ps);
    this.psTables = model.tables.map((spec) => ({
      spec,
      optimizer: spec.frozen ? null : sparseConfigOf(findGroup(this.job.optimizers, spec.group, `table '${spec.name}'`)),
    }));
    this.dense = this.freshDense();
    this.progress = this.freshProgress();
    const stepMs = this.job.timeouts.stepMs;
    this.barrier =
      this.job.sync.mode === 'bsp'
        ? new StepBarrier<StepReport>(this.workers, stepMs, (step, reports) => {
            this.dense.apply(
              reports.map((r) => r.grads),
              step,
            );
            this.progress.recordGlobalStep(step, reports);
          })
        : null;
    this.clock = this.job.sync.mode === 'ssp' ? new SspClock(this.workers, this.job.sync.staleness, stepMs) : null;
    this.checkpoints = this.job.checkpoint ? new CheckpointStore(this.job.checkpoint) : null;
    this.links = new ShardLinks(options.token);
    this.checkpointing = this.checkpoints
      ? new CheckpointScheduler({
          store: this.checkpoints,
          links: this.links,
          job: this.job,
          model: this.model,
          psTables: this.psTables,
          numShards: this.shards.numShards,
          workers: this.workers,
          dense: () => this.dense,
          epoch: () => this.epoch,
          emit: (info) => this.emit('checkpoint', info),
        })
      : null;
    this.resetReady();
    this.resultPromise = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const preliminary = parseJobConfig(options.job);
    const declared = await resolveModel(preliminary.model, options.importModule);
    const overrides = parseJobConfig(
      options.job,
      declared.tables.map((t) => t.name),
    ).tables;
    const model = applyTableOverrides(declared, overrides);
    const pretrained: Record<string, Float32Array> = {};
    for (const spec of model.tables) {
      const source = overrides[spec.name]?.pretrained;
      if (source) pretrained[spec.name] = loadPretrained(spec, source, preliminary.seed);
    }
    const { dense, tables } = preliminary.initialState
      ? loadInitialState(options.readJson(preliminary.initialState.fixture), preliminary.initialState.fixture, model)
      : { dense: {}, tables: {} };
    const c = new Coordinator(options, model, dense, { ...tables, ...pretrained });
    c.findResumePoint();
    c.server = await RpcServer.listen({
      host: options.host,
      port: options.port,
      token: options.token,
      transport: options.transport,
      handler: (req, conn) => c.handle(req, conn),
      onFault: (conn, reason) => c.emit('fault', `connection ${conn.connectionId}: ${reason}`),
      onDisconnect: (conn) => c.onDisconnect(conn),
      httpHandler: coordinatorHttpHandler({
        dashboard: options.dashboard ?? false,
        status: () => c.status(),
        metrics: coordinatorMetrics(() => c.status()),
      }),
    });
    if (c.job.checkpoint?.everySeconds) {
      const timer = setInterval(() => {
        c.requestCheckpoint();
      }, c.job.checkpoint.everySeconds * 1000);
      timer.unref();
    }
    return c;
  }

  private freshDense(): DenseState {
    return new DenseState(this.model.dense, this.job.optimizers, this.job.seed, this.initialDense);
  }

  private freshProgress(): ProgressLog {
    return new ProgressLog(this.job, this.workers, (entry) => this.emit('progress', entry));
  }

  private resetReady(): void {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.ready.catch(() => {});
  }

  /** On start: the checkpoint to resume from, if the job keeps checkpoints and one verifies. */
  private findResumePoint(): void {
    if (!this.checkpoints) return;
    const found = this.checkpoints.findResumable((e) => this.emit('fault', `skipping checkpoint: ${e.message}`));
    if (!found) return;
    this.restoreSource = found;
    this.resumeStep = found.manifest.step;
    this.resumedFrom = { dir: found.dir, step: found.manifest.step };
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

  /** Takes a checkpoint at the next step boundary (CLI: SIGUSR2, RPC: checkpoint_now). */
  requestCheckpoint(): void {
    this.checkpointing?.request();
  }

  private handle(req: Envelope, conn: ConnectionInfo): Record<string, unknown> | Promise<Record<string, unknown>> {
    switch (req.type) {
      case 'register_ps':
        return this.registerPs(req, conn);
      case 'ps_ready':
        return this.psReady(req);
      case 'register_trainer':
        return this.registerTrainer(req, conn);
      case 'dense_get':
        return { version: this.dense.version, params: this.dense.snapshot() };
      case 'dense_step':
        return this.denseStep(req);
      case 'clock_wait':
        return this.clockWait(req);
      case 'recovery_wait':
        return this.recoveryWait(req);
      case 'worker_done':
        return this.workerDone(req);
      case 'eval_report':
        return this.evalReport(req);
      case 'checkpoint_now':
        this.requestCheckpoint();
        return {};
      case 'result':
        return this.resultPromise.then((r) => ({ result: r }));
      case 'status':
        return { status: this.status() };
      case 'ping':
        return {};
      default:
        throw new RowshardError(ErrorCodes.BAD_REQUEST, `unknown request type '${req.type}'`);
    }
  }

  // ---- membership -------------------------------------------------------------------------

  private registerPs(req: Envelope, conn: ConnectionInfo): Record<string, unknown> {
    if (typeof req.url !== 'string') throw new RowshardError(ErrorCodes.BAD_REQUEST, 'register_ps needs the PS url');
    const requested = typeof req.shard === 'number' ? req.shard : null;
    const shard = this.shards.assign(conn.connectionId, req.url, requested, typeof req.name === 'string' ? req.name : null);
    // A shard (re)configured mid-run starts empty: every shard goes back to the last checkpoint.
    if (this.phase === 'running') this.startRecovery(`parameter server for shard ${shard} registered again`);
    const config = {
      shard,
      numShards: this.shards.numShards,
      seed: this.job.seed,
      tables: this.psTables,
      sync: this.job.sync,
      workers: this.workers,
      stepTimeoutMs: this.job.timeouts.stepMs,
    };
    return { shard, config };
  }

  private psReady(req: Envelope): Record<string, unknown> {
    const shard = req.shard;
    if (typeof shard !== 'number' || this.shards.urls[shard] !== req.url) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `ps_ready from an unregistered shard (${String(shard)}, ${String(req.url)})`,
      );
    }
    this.shards.markReady(shard);
    if (this.shards.complete && this.phase !== 'running' && this.phase !== 'done') void this.prepare();
    return {};
  }

  private onDisconnect(conn: ConnectionInfo): void {
    const shard = this.shards.connectionClosed(conn.connectionId);
    if (shard !== null) {
      if (this.phase === 'done') return;
      this.shards.markGone(shard);
      this.startRecovery(`parameter server for shard ${shard} was lost`);
      return;
    }
    const unfinished = this.ranks.release(conn.connectionId);
    if (unfinished && unfinished.length > 0 && this.phase !== 'done') {
      this.emit('fault', `trainer with ranks ${unfinished.join(', ')} was lost; waiting for a replacement`);
    }
  }

  /**
   * All shards are up: restore or load their state, then let workers in. Runs one at a time;
   * a request while one runs makes it run again afterwards (a shard may have changed).
   */
  private prepare(): Promise<void> {
    if (this.preparing) {
      this.prepareAgain = true;
      return this.preparing;
    }
    this.preparing = this.prepareOnce().finally(() => {
      this.preparing = null;
      if (this.prepareAgain && this.phase !== 'running' && this.phase !== 'done' && this.shards.complete) {
        this.prepareAgain = false;
        void this.prepare();
      }
      this.prepareAgain = false;
    });
    return this.preparing;
  }

  private preparing: Promise<void> | null = null;
  private prepareAgain = false;

  private async prepareOnce(): Promise<void> {
    try {
      this.epoch++;
      if (this.phase === 'recovering') {
        this.restoreSource = this.latestCheckpointOrNull();
        this.resumeStep = this.restoreSource?.manifest.step ?? 0;
      }
      await this.restoreShards();
      this.restoreDense();
      this.barrier?.reset(this.resumeStep);
      this.clock?.reset(this.resumeStep);
      this.workerSteps.fill(this.resumeStep);
      this.progress.truncate(this.resumeStep);
      const wasRecovering = this.phase === 'recovering';
      this.phase = 'running';
      this.watchShards();
      this.emit(wasRecovering ? 'recovered' : 'ready', {
        shards: this.shards.shardUrls(),
        step: this.resumeStep,
        epoch: this.epoch,
      });
      this.markReady();
    } catch (e) {
      // A shard we counted on is unreachable: its disconnect will mark it, and its return
      // (or a replacement) triggers the next attempt; retry anyway in case it was transient.
      this.emit('fault', `preparing the shards failed: ${(e as Error).message}`);
      setTimeout(() => {
        if (this.phase !== 'running' && this.phase !== 'done' && this.shards.complete) void this.prepare();
      }, 500).unref();
    }
  }

  private latestCheckpointOrNull(): { dir: string; manifest: CheckpointManifest } | null {
    if (!this.checkpoints) return null;
    return this.checkpoints.findResumable((e) => this.emit('fault', `skipping checkpoint: ${e.message}`));
  }

  private async restoreShards(): Promise<void> {
    const urls = this.shards.shardUrls();
    const source = this.restoreSource;
    // Always: a shard that outlived a coordinator restart must drop state newer than the source.
    await ShardLinks.restoreAll(urls, this.options.token, source, this.epoch, this.job.timeouts.stepMs);
    if (!source && Object.keys(this.initialTables).length > 0) {
      await loadTablesIntoShards(this.initialTables, this.model.tables, urls, this.options.token);
    }
  }

  private restoreDense(): void {
    const source = this.restoreSource;
    if (source && this.checkpoints) {
      const snap = this.checkpoints.readDense(source.dir, source.manifest.dense);
      this.dense = this.freshDense();
      this.dense.restore(snap.values, snap.states, snap.version);
    } else if (this.restoredOnce) {
      this.dense = this.freshDense();
    }
    this.restoredOnce = true;
  }

  private startRecovery(reason: string): void {
    if (this.phase === 'recovering' || this.phase === 'done') return;
    const wasStarting = this.phase === 'starting';
    this.phase = 'recovering';
    this.recoveries += wasStarting ? 0 : 1;
    this.resetReady();
    const paused = new RowshardError(ErrorCodes.PAUSED, `training is paused: ${reason}; it resumes from the last checkpoint`);
    this.barrier?.abort(paused);
    this.clock?.abortWaiters(paused);
    this.checkpointing?.abortParked(paused);
    this.emit('recovering', { reason, epoch: this.epoch });
    this.emit('fault', reason);
  }

  private async registerTrainer(req: Envelope, conn: ConnectionInfo): Promise<Record<string, unknown>> {
    const workers = req.workers ?? this.job.cluster.workersPerTrainer;
    if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, 'register_trainer needs a positive worker count');
    }
    const ranks = this.ranks.take(conn.connectionId, workers);
    await withDeadline(this.ready, this.job.timeouts.registrationMs, 'waiting for every parameter server to register');
    if (this.startedAt === 0) this.startedAt = performance.now();
    const startStep = this.barrier ? this.barrier.completedSteps : Math.min(...ranks.map((r) => this.workerSteps[r]));
    return {
      ranks,
      workers: this.workers,
      job: this.options.job,
      shardUrls: this.shards.shardUrls(),
      startStep,
      epoch: this.epoch,
    };
  }

  // ---- training steps ----------------------------------------------------------------------

  private checkEpoch(req: Envelope): void {
    if (this.phase === 'recovering' || this.phase === 'starting') {
      throw new RowshardError(
        ErrorCodes.PAUSED,
        `training is paused (${this.phase === 'starting' ? 'the coordinator is starting' : 'recovery'})`,
      );
    }
    if (typeof req.epoch === 'number' && req.epoch < this.epoch) {
      throw new RowshardError(ErrorCodes.STALE_EPOCH, `request from epoch ${req.epoch}; the job is in epoch ${this.epoch}`);
    }
  }

  private async denseStep(req: Envelope): Promise<Record<string, unknown>> {
    const { step, loss, examples } = req as { step?: unknown; loss?: unknown; examples?: unknown };
    if (
      typeof step !== 'number' ||
      !Number.isInteger(step) ||
      step < 0 ||
      typeof loss !== 'number' ||
      typeof examples !== 'number'
    ) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, 'dense_step needs step (an integer >= 0), rank, loss and examples');
    }
    const rank = this.ranks.check(req.rank, 'dense_step');
    this.checkEpoch(req);
    const grads = this.dense.checkGrads(req.grads);
    if (this.barrier) {
      await this.barrier.contribute(step, rank, { grads, loss, examples });
      await this.checkpointing?.atBarrier(step + 1);
    } else {
      if (step < this.workerSteps[rank]) {
        // A retry of a step already applied (its reply was lost): nothing to apply again.
      } else {
        this.dense.apply([grads], step);
        this.progress.recordWorkerStep(rank, step, loss, examples);
        this.workerSteps[rank] = step + 1;
        this.clock?.tick(rank, step + 1);
      }
      await this.checkpointing?.park(rank, this.workerSteps, this.ranks.done);
    }
    return { version: this.dense.version, params: this.dense.snapshot() };
  }

  private async clockWait(req: Envelope): Promise<Record<string, unknown>> {
    const rank = this.ranks.check(req.rank, 'clock_wait');
    if (typeof req.clock !== 'number') throw new RowshardError(ErrorCodes.BAD_REQUEST, 'clock_wait needs rank and clock');
    const clock = req.clock;
    this.checkEpoch(req);
    if (!this.clock) return {};
    await this.clock.wait(rank, clock);
    return {};
  }

  /**
   * A worker hit an error it cannot handle alone (a shard gone, a paused step, a stale epoch).
   * If no recovery is under way, one starts: every shard goes back to the last checkpoint.
   * Answers once the cluster is whole again, with the step and epoch to continue from.
   */
  private async recoveryWait(req: Envelope): Promise<Record<string, unknown>> {
    const epoch = typeof req.epoch === 'number' ? req.epoch : 0;
    if (this.phase === 'running' && epoch >= this.epoch) {
      this.startRecovery(`worker ${String(req.rank)} reported: ${String(req.reason ?? 'an error')}`);
      // Every shard is still up: restore at once.
      if (this.shards.complete) void this.prepare();
    }
    await withDeadline(this.ready, this.job.timeouts.registrationMs, 'waiting for the cluster to recover');
    return { resumeStep: this.resumeStep, epoch: this.epoch, shardUrls: this.shards.shardUrls() };
  }

  private evalReport(req: Envelope): Record<string, unknown> {
    const { step, loss, accuracy, examples } = req as { step?: unknown; loss?: unknown; accuracy?: unknown; examples?: unknown };
    if (typeof step !== 'number' || typeof loss !== 'number' || typeof examples !== 'number') {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, 'eval_report needs step, loss and examples');
    }
    const entry = { step, loss, accuracy: typeof accuracy === 'number' ? accuracy : null, examples };
    this.evals.push(entry);
    this.emit('eval', entry);
    return {};
  }

  private readonly evals: { step: number; loss: number; accuracy: number | null; examples: number }[] = [];

  private workerDone(req: Envelope): Record<string, unknown> {
    const rank = this.ranks.check(req.rank, 'worker_done');
    this.ranks.markDone(rank);
    // A finished worker must not hold back SSP waiters or an ASP checkpoint.
    this.clock?.tick(rank, Number.MAX_SAFE_INTEGER);
    this.checkpointing?.maybeSnapshotParked(this.workerSteps, this.ranks.done);
    if (this.ranks.allDone && this.phase !== 'done') {
      this.phase = 'done';
      const seconds = (performance.now() - this.startedAt) / 1000;
      const result: JobResult = {
        steps: this.job.steps,
        examples: this.progress.examples,
        seconds,
        losses: this.progress.losses,
        denseParams: this.dense.snapshot(),
        maxObservedLag: this.clock ? this.clock.maxObservedLag : null,
        recoveries: this.recoveries,
        evals: this.evals,
        lastCheckpointStep: this.checkpointing?.lastStep ?? null,
      };
      this.emit('done', result);
      this.finish(result);
    }
    return {};
  }

  // ---- observation -------------------------------------------------------------------------

  /** Keeps one connection per shard: load statistics for progress, and checkpoint requests. */
  private watchShards(): void {
    this.links.reset(this.shards.shardUrls());
    if (!this.pollingShards) {
      this.pollingShards = true;
      this.on('progress', () => void this.pollShards());
    }
  }

  private pollingShards = false;

  private async pollShards(): Promise<void> {
    if (this.phase !== 'running') return;
    try {
      this.shardLoad = await this.links.load();
      this.emit('shards', this.shardLoad);
    } catch (e) {
      this.emit('fault', `reading shard load: ${(e as Error).message}`);
    }
  }

  status(): Record<string, unknown> {
    return {
      phase: this.phase,
      epoch: this.epoch,
      shards: this.shards.urls,
      shardsReady: this.shards.ready,
      workers: this.workers,
      workersPerTrainer: this.job.cluster.workersPerTrainer,
      freeRanks: this.ranks.free,
      workersDone: this.ranks.done.size,
      denseVersion: this.dense.version,
      shardLoad: this.shardLoad,
      recoveries: this.recoveries,
      evals: this.evals,
      progressHistory: this.progress.history,
      secondsSinceCheckpoint: this.checkpointing?.secondsSinceLast ?? null,
      ...this.progress.summary(),
    };
  }

  async close(): Promise<void> {
    this.barrier?.abort(new RowshardError(ErrorCodes.CONNECTION_CLOSED, 'coordinator is shutting down'));
    await this.links.close();
    await this.server?.close();
  }
}
