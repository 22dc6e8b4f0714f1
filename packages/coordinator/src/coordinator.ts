import { EventEmitter } from 'node:events';
import {
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
import { type Model, type ModuleImporter, resolveModel } from '@rowshard/nn';
import { RpcClient, RpcServer, type TransportOptions } from '@rowshard/transport';
import { DenseState } from './dense-state.js';
import { loadInitialState, loadTablesIntoShards } from './initial-state.js';
import { ShardTable } from './membership.js';
import { ProgressLog } from './progress.js';
import { SspClock } from './ssp-clock.js';
import { StepBarrier } from './step-barrier.js';

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
}

interface StepReport {
  readonly grads: Record<string, Float32Array>;
  readonly loss: number;
  readonly examples: number;
}

/**
 * The coordinator: membership (shards and worker ranks), the job's configuration for every
 * role, the step clock (BSP barrier, SSP clock), the dense parameters and their optimizer,
 * losses and progress. It never touches embedding rows except to load an initial state.
 *
 * Events: 'ready' (all shards registered and loaded), 'progress' (ProgressLog entries),
 * 'done' (JobResult), 'fault' (string).
 */
export class Coordinator extends EventEmitter {
  readonly job: JobConfig;
  readonly model: Model;
  readonly workers: number;
  private readonly shards: ShardTable;
  private readonly dense: DenseState;
  private readonly barrier: StepBarrier<StepReport> | null;
  private readonly clock: SspClock | null;
  private readonly psTables: { spec: TableSpec; optimizer: SparseOptimizerConfig | null }[];
  private server: RpcServer | null = null;
  private nextRank = 0;
  private trainersRegistered = 0;
  private readonly doneRanks = new Set<number>();
  private readyPromise: Promise<void>;
  private markReady!: () => void;
  private resultPromise: Promise<JobResult>;
  private finish!: (r: JobResult) => void;
  private readonly progress: ProgressLog;
  private startedAt = 0;
  private shardClients: RpcClient[] = [];
  private shardLoad: Record<string, unknown>[] = [];

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
    this.shards = new ShardTable(this.job.cluster.ps);
    this.psTables = model.tables.map((spec) => ({
      spec,
      optimizer: spec.frozen ? null : sparseConfigOf(findGroup(this.job.optimizers, spec.group, `table '${spec.name}'`)),
    }));
    this.dense = new DenseState(model.dense, this.job.optimizers, this.job.seed, initialDense);
    const stepMs = this.job.timeouts.stepMs;
    this.progress = new ProgressLog(this.job, this.workers, (entry) => this.emit('progress', entry));
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
    this.readyPromise = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.resultPromise = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const preliminary = parseJobConfig(options.job);
    const model = await resolveModel(preliminary.model, options.importModule);
    const { dense, tables } = preliminary.initialState
      ? loadInitialState(options.readJson(preliminary.initialState.fixture), preliminary.initialState.fixture, model)
      : { dense: {}, tables: {} };
    const c = new Coordinator(options, model, dense, tables);
    c.server = await RpcServer.listen({
      host: options.host,
      port: options.port,
      token: options.token,
      transport: options.transport,
      handler: (req) => c.handle(req),
      onFault: (conn, reason) => c.emit('fault', `connection ${conn.connectionId}: ${reason}`),
    });
    return c;
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

  private handle(req: Envelope): Record<string, unknown> | Promise<Record<string, unknown>> {
    switch (req.type) {
      case 'register_ps':
        return this.registerPs(req);
      case 'ps_ready':
        return this.psReady(req);
      case 'register_trainer':
        return this.registerTrainer(req);
      case 'dense_get':
        return { version: this.dense.version, params: this.dense.snapshot() };
      case 'dense_step':
        return this.denseStep(req);
      case 'clock_wait':
        return this.clockWait(req);
      case 'worker_done':
        return this.workerDone(req);
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

  private registerPs(req: Envelope): Record<string, unknown> {
    if (typeof req.url !== 'string') throw new RowshardError(ErrorCodes.BAD_REQUEST, 'register_ps needs the PS url');
    const requested = typeof req.shard === 'number' ? req.shard : null;
    const shard = this.shards.assign(req.url, requested);
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

  private async psReady(req: Envelope): Promise<Record<string, unknown>> {
    const shard = req.shard;
    if (typeof shard !== 'number' || this.shards.urls[shard] !== req.url) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `ps_ready from an unregistered shard (${String(shard)}, ${String(req.url)})`,
      );
    }
    this.shards.markReady(shard);
    if (this.shards.complete) void this.prepare();
    return {};
  }

  /** All shards are up: load the initial state (if any), then let trainers in. */
  private async prepare(): Promise<void> {
    try {
      if (Object.keys(this.initialTables).length > 0) {
        await loadTablesIntoShards(this.initialTables, this.model.tables, this.shards.shardUrls(), this.options.token);
      }
      this.emit('ready', { shards: this.shards.shardUrls() });
      this.markReady();
      this.watchShards();
    } catch (e) {
      this.emit('fault', `loading the initial state failed: ${(e as Error).message}`);
    }
  }

  private async registerTrainer(req: Envelope): Promise<Record<string, unknown>> {
    const workers = req.workers ?? this.job.cluster.workersPerTrainer;
    if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, 'register_trainer needs a positive worker count');
    }
    if (this.nextRank + workers > this.workers) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `the job has ${this.workers} workers and ${this.nextRank} are taken; cannot add ${workers}`,
      );
    }
    const ranks = Array.from({ length: workers }, (_, i) => this.nextRank + i);
    this.nextRank += workers;
    const trainer = this.trainersRegistered++;
    await withDeadline(this.readyPromise, this.job.timeouts.registrationMs, 'waiting for every parameter server to register');
    if (this.startedAt === 0) this.startedAt = performance.now();
    return { trainer, ranks, workers: this.workers, job: this.options.job, shardUrls: this.shards.shardUrls() };
  }

  private async denseStep(req: Envelope): Promise<Record<string, unknown>> {
    const { step, rank, loss, examples } = req as { step?: unknown; rank?: unknown; loss?: unknown; examples?: unknown };
    if (typeof step !== 'number' || typeof rank !== 'number' || typeof loss !== 'number' || typeof examples !== 'number') {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, 'dense_step needs step, rank, loss and examples');
    }
    const grads = this.dense.checkGrads(req.grads);
    if (this.barrier) {
      await this.barrier.contribute(step, rank, { grads, loss, examples });
    } else {
      this.dense.apply([grads], step);
      this.progress.recordWorkerStep(rank, step, loss, examples);
      this.clock?.tick(rank, step + 1);
    }
    return { version: this.dense.version, params: this.dense.snapshot() };
  }

  private async clockWait(req: Envelope): Promise<Record<string, unknown>> {
    if (!this.clock) return {};
    const { rank, clock } = req as { rank?: unknown; clock?: unknown };
    if (typeof rank !== 'number' || typeof clock !== 'number')
      throw new RowshardError(ErrorCodes.BAD_REQUEST, 'clock_wait needs rank and clock');
    await this.clock.wait(rank, clock);
    return {};
  }

  private workerDone(req: Envelope): Record<string, unknown> {
    if (typeof req.rank !== 'number') throw new RowshardError(ErrorCodes.BAD_REQUEST, 'worker_done needs rank');
    this.doneRanks.add(req.rank);
    // A finished worker must not hold back SSP waiters.
    this.clock?.tick(req.rank, Number.MAX_SAFE_INTEGER);
    if (this.doneRanks.size === this.workers) {
      const seconds = (performance.now() - this.startedAt) / 1000;
      const result: JobResult = {
        steps: this.job.steps,
        examples: this.progress.examples,
        seconds,
        losses: this.progress.losses,
        denseParams: this.dense.snapshot(),
        maxObservedLag: this.clock ? this.clock.maxObservedLag : null,
      };
      this.emit('done', result);
      this.finish(result);
    }
    return {};
  }

  /** Keeps one connection per shard to read its load (rows, bytes, requests) at each progress report. */
  private watchShards(): void {
    for (const c of this.shardClients) void c.close();
    this.shardClients = this.shards
      .shardUrls()
      .map((url, shard) => new RpcClient({ url, token: this.options.token, peerName: `ps ${shard}` }));
    this.on('progress', () => void this.pollShards());
  }

  private async pollShards(): Promise<void> {
    try {
      const replies = await Promise.all(this.shardClients.map((c) => c.request({ type: 'stats' }, 5000)));
      this.shardLoad = replies.map((r) => {
        const s = r.stats as Record<string, unknown>;
        return {
          shard: s.shard,
          rowsMaterialised: s.rowsMaterialised,
          bytesUsed: s.bytesUsed,
          rowsPulled: s.rowsPulled,
          rowsPushed: s.rowsPushed,
          requests: s.requests,
          errors: s.errors,
        };
      });
      this.emit('shards', this.shardLoad);
    } catch (e) {
      this.emit('fault', `reading shard load: ${(e as Error).message}`);
    }
  }

  status(): Record<string, unknown> {
    return {
      shards: this.shards.urls,
      shardsReady: this.shards.ready,
      workers: this.workers,
      ranksAssigned: this.nextRank,
      workersDone: this.doneRanks.size,
      denseVersion: this.dense.version,
      shardLoad: this.shardLoad,
      ...this.progress.summary(),
    };
  }

  async close(): Promise<void> {
    this.barrier?.abort(new RowshardError(ErrorCodes.CONNECTION_CLOSED, 'coordinator is shutting down'));
    await Promise.all(this.shardClients.map((c) => c.close()));
    await this.server?.close();
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RowshardError(ErrorCodes.TIMEOUT, `timed out after ${ms} ms ${what}`)), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
