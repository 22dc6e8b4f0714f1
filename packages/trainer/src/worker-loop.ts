import { pathToFileURL } from 'node:url';
import {
  type CoordinatorProtocol,
  coordinatorProtocol,
  dedupeIds,
  ErrorCodes,
  findGroup,
  isFrozenAt,
  type JobConfig,
  lrAt,
  RowshardError,
  type SparseOptimizerConfig,
  sparseConfigOf,
  streamKey,
  tableStepAt,
  workerSlice,
} from '@rowshard/core';
import { type Batch, backward, buildModelContext, type Model, resolveJob } from '@rowshard/nn';
import { RpcClient, type TransportOptions } from '@rowshard/transport';
import { type BatchSource, openBatchSource } from './data/index.js';
import { PsClient, type PullRequestPart, type PushRequestPart } from './ps-client.js';
import { RemoteRows } from './remote-rows.js';

/** What a trainer hands each worker thread (plain data: it crosses into a piscina worker). */
export interface WorkerTask {
  readonly rank: number;
  readonly workers: number;
  readonly job: Record<string, unknown>;
  readonly shardUrls: readonly string[];
  readonly coordinatorUrl: string;
  readonly token: string | null;
  /** Step to start at (0, or a checkpoint's step, or the current step for a replacement). */
  readonly startStep: number;
  /** The job's epoch at registration; every request carries it. */
  readonly epoch: number;
  readonly transport?: Partial<TransportOptions>;
}

export interface WorkerSummary {
  readonly rank: number;
  readonly steps: number;
  readonly examples: number;
  readonly seconds: number;
  readonly lastLoss: number;
}

interface Pulled {
  readonly step: number;
  readonly batch: Batch;
  /** Per table: its distinct ids for this batch and their rows. */
  readonly tables: Map<string, { ids: Float64Array; rows: Float32Array }>;
}

/**
 * One worker's training loop: pull the batch's rows (one request per shard, all tables) →
 * forward/backward with them as small local matrices → push sparse gradients to the shards
 * and dense gradients to the coordinator. BSP waits for the step to be applied everywhere;
 * SSP waits for the slowest worker to be within `staleness` before each step; ASP and SSP
 * prefetch the next batch's rows while the current one computes.
 */
export class WorkerLoop {
  private ps: PsClient;
  private shardUrls: readonly string[];
  private readonly coordinator: RpcClient<CoordinatorProtocol>;
  private readonly slice: { start: number; end: number };
  private readonly sparseConfigs = new Map<
    string,
    { config: SparseOptimizerConfig; schedule: JobConfig['optimizers'][number]['schedule'] }
  >();

  private constructor(
    private readonly task: WorkerTask,
    private readonly job: JobConfig,
    private readonly model: Model,
    private readonly data: BatchSource,
    private readonly evalData: BatchSource | null,
  ) {
    this.shardUrls = task.shardUrls;
    this.ps = new PsClient({ shardUrls: task.shardUrls, token: task.token, tables: model.tables, transport: task.transport });
    this.coordinator = new RpcClient({
      url: task.coordinatorUrl,
      token: task.token,
      protocol: coordinatorProtocol,
      transport: task.transport,
      peerName: 'coordinator',
    });
    this.slice = workerSlice(job.batchSize, task.rank, task.workers);
    for (const spec of model.tables) {
      if (spec.frozen) continue;
      const group = findGroup(job.optimizers, spec.group, `table '${spec.name}'`);
      this.sparseConfigs.set(spec.name, { config: sparseConfigOf(group), schedule: group.schedule });
    }
  }

  static async create(task: WorkerTask): Promise<WorkerLoop> {
    const { job, model } = await resolveJob(task.job, (p) => import(pathToFileURL(p).href));
    const evalData = job.eval ? openBatchSource(job.eval.data, job.eval.batchSize) : null;
    return new WorkerLoop(task, job, model, openBatchSource(job.data, job.batchSize), evalData);
  }

  private async pull(step: number): Promise<Pulled> {
    const batch = await this.data.slice(step, this.slice.start, this.slice.end);
    return this.pullFor(batch, step, this.job.sync.mode === 'bsp' ? step : undefined);
  }

  /** The rows a batch needs, one request per shard for all tables (tagged with `gate` in BSP). */
  private async pullFor(batch: Batch, step: number, gate: number | undefined): Promise<Pulled> {
    const needed = this.model.rowsNeeded(batch);
    const names = Object.keys(needed);
    const distinct = names.map((name) => {
      const lists = needed[name];
      const total = lists.reduce((a, l) => a + l.length, 0);
      const all = new Float64Array(total);
      let at = 0;
      for (const l of lists) for (let i = 0; i < l.length; i++) all[at++] = l[i];
      return dedupeIds(all).unique;
    });
    const parts: PullRequestPart[] = names.map((table, i) => ({ table, ids: distinct[i] }));
    const rows = await this.ps.pullMany(parts, gate === undefined ? {} : { step: gate });
    const tables = new Map(names.map((name, i) => [name, { ids: distinct[i], rows: rows[i] }]));
    return { step, batch, tables };
  }

  private async waitClock(step: number, epoch: number): Promise<void> {
    if (this.job.sync.mode === 'ssp') {
      await this.coordinator.request('clock_wait', { rank: this.task.rank, clock: step, epoch }, this.job.timeouts.stepMs);
    }
  }

  async run(): Promise<WorkerSummary> {
    const { rank } = this.task;
    const job = this.job;
    await Promise.all([this.ps.connect(), this.coordinator.connect()]);
    const started = performance.now();
    let examples = 0;
    try {
      let epoch = this.task.epoch;
      this.ps.epoch = epoch;
      let params = (await this.coordinator.request('dense_get', {})).params;
      const size = this.slice.end - this.slice.start;
      const scale = size / job.batchSize;
      const dropoutKey = streamKey(job.seed, `dropout:${rank}`);
      const prefetch = job.sync.mode !== 'bsp';
      const slowMs = job.debug.slowRanks[String(rank)] ?? 0;
      let next: Promise<Pulled> | null = null;
      let lastLoss = Number.NaN;
      let recoveries = 0;
      let t = this.task.startStep;
      while (t < job.steps) {
        try {
          let pulled: Pulled;
          if (next) pulled = await next;
          else {
            await this.waitClock(t, epoch);
            pulled = await this.pull(t);
          }
          next = null;
          if (prefetch && t + 1 < job.steps) {
            const upcoming = t + 1;
            next = this.waitClock(upcoming, epoch).then(() => this.pull(upcoming));
            next.catch(() => {}); // surfaced when awaited next step
          }
          const { loss, sparse, dense } = this.compute(pulled, params, scale, dropoutKey);
          lastLoss = loss;
          if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
          const [, reply] = await Promise.all([
            this.ps.pushMany(sparse, { step: t, rank }),
            this.coordinator.request(
              'dense_step',
              { step: t, rank, epoch, grads: dense, loss, examples: size },
              job.timeouts.stepMs,
            ),
          ]);
          params = reply.params;
          examples += size;
          t++;
          if (this.evaluates(t)) await this.evaluate(t, params, epoch);
        } catch (e) {
          if (!isRecoverable(e) || ++recoveries > MAX_RECOVERIES) throw e;
          next = null;
          // The coordinator restores every shard to the last checkpoint, then says where to resume.
          const r = await this.coordinator.request(
            'recovery_wait',
            { rank, epoch, reason: (e as Error).message },
            job.timeouts.registrationMs + job.timeouts.stepMs,
          );
          epoch = r.epoch;
          t = r.resumeStep;
          await this.reconnectShards(r.shardUrls);
          this.ps.epoch = epoch;
          params = (await this.coordinator.request('dense_get', {})).params;
        }
      }
      await this.coordinator.request('worker_done', { rank, steps: job.steps });
      return { rank, steps: job.steps, examples, seconds: (performance.now() - started) / 1000, lastLoss };
    } finally {
      await Promise.all([this.ps.close(), this.coordinator.close()]);
    }
  }

  /** Worker 0 evaluates every eval.everySteps completed steps and after the last one. */
  private evaluates(completed: number): boolean {
    const ev = this.job.eval;
    if (!ev || !this.evalData || this.task.rank !== 0) return false;
    return completed === this.job.steps || (ev.everySteps !== null && completed % ev.everySteps === 0);
  }

  /**
   * Loss (and accuracy, for classifiers) on held-out batches with the current parameters,
   * reported to the coordinator. Tables are read without recording gradients; in BSP the
   * pulls wait for step `completed` to be applied everywhere.
   */
  private async evaluate(completed: number, params: Record<string, Float32Array>, epoch: number): Promise<void> {
    const ev = this.job.eval as NonNullable<JobConfig['eval']>;
    const data = this.evalData as BatchSource;
    let lossSum = 0;
    let correct = 0;
    let examples = 0;
    for (let b = 0; b < ev.batches; b++) {
      const batch = await data.slice(b, 0, ev.batchSize);
      const pulled = await this.pullFor(batch, completed, this.job.sync.mode === 'bsp' ? completed : undefined);
      const { ctx } = buildModelContext({
        model: this.model,
        table: (spec) => this.remoteRows(pulled, spec, false),
        param: (spec) => params[spec.name],
        training: false,
        dropoutKey: streamKey(0, 'eval'),
        step: 0,
      });
      const output = this.model.forward(ctx, batch);
      const n = batch.target.length;
      lossSum += this.model.loss(output, batch).item() * n;
      examples += n;
      if (this.model.task === 'classification')
        correct += countCorrect(output.data, output.shape[output.shape.length - 1], batch.target);
    }
    await this.coordinator.request('eval_report', {
      step: completed,
      epoch,
      examples,
      loss: lossSum / Math.max(1, examples),
      accuracy: this.model.task === 'classification' ? correct / Math.max(1, examples) : null,
    });
  }

  /** A replaced shard may listen elsewhere: rebuild the PS client when the shard map changed. */
  private async reconnectShards(urls: string[]): Promise<void> {
    if (urls.every((u, i) => u === this.shardUrls[i])) return;
    await this.ps.close();
    this.shardUrls = urls;
    this.ps = new PsClient({
      shardUrls: urls,
      token: this.task.token,
      tables: this.model.tables,
      transport: this.task.transport,
    });
    await this.ps.connect();
  }

  /** A pulled table as the forward pass sees it. */
  private remoteRows(pulled: Pulled, spec: Model['tables'][number], trainable: boolean): RemoteRows {
    const got = pulled.tables.get(spec.name) ?? { ids: new Float64Array(0), rows: new Float32Array(0) };
    return new RemoteRows(spec, trainable, got.ids, got.rows);
  }

  /** Forward and backward on pulled rows; gradients scaled by this worker's share of the batch. */
  private compute(
    pulled: Pulled,
    params: Record<string, Float32Array>,
    scale: number,
    dropoutKey: ReturnType<typeof streamKey>,
  ): { loss: number; sparse: PushRequestPart[]; dense: Record<string, Float32Array> } {
    const t = pulled.step;
    const sources = new Map<string, RemoteRows>();
    const { ctx, params: tensors } = buildModelContext({
      model: this.model,
      table: (spec) => {
        const source = this.remoteRows(pulled, spec, !isFrozenAt(this.job.freeze, spec.name, spec.frozen, t));
        sources.set(spec.name, source);
        return source;
      },
      param: (spec) => params[spec.name],
      training: true,
      dropoutKey,
      step: t,
    });
    const output = this.model.forward(ctx, pulled.batch);
    const lossTensor = this.model.loss(output, pulled.batch);
    backward(lossTensor);
    const sparse: PushRequestPart[] = [];
    for (const [name, source] of sources) {
      if (!source.trainable) continue;
      const grad = source.takeGrad(scale);
      const opt = this.sparseConfigs.get(name);
      if (!grad || !opt) continue;
      const spec = source.spec;
      sparse.push({
        table: name,
        ids: grad.ids,
        grads: grad.grads,
        lr: lrAt(opt.config.lr, opt.schedule, t),
        step: tableStepAt(this.job.freeze, name, spec.frozen, t),
      });
    }
    const dense: Record<string, Float32Array> = {};
    for (const [name, tensor] of tensors) {
      const g = new Float32Array(tensor.size);
      if (tensor.grad) for (let i = 0; i < g.length; i++) g[i] = tensor.grad[i] * scale;
      dense[name] = g;
    }
    return { loss: lossTensor.item(), sparse, dense };
  }
}

const MAX_RECOVERIES = 20;

/** Errors a worker waits out through the coordinator's recovery rather than failing on. */
function isRecoverable(e: unknown): boolean {
  if (!(e instanceof RowshardError)) return false;
  return (
    e.code === ErrorCodes.CONNECTION_CLOSED ||
    e.code === ErrorCodes.PAUSED ||
    e.code === ErrorCodes.STALE_EPOCH ||
    e.code === ErrorCodes.SHARD_UNAVAILABLE ||
    e.code === ErrorCodes.TIMEOUT
  );
}

/** Rows of logits whose argmax is the target class. */
function countCorrect(logits: Float32Array, classes: number, target: ArrayLike<number>): number {
  let correct = 0;
  for (let r = 0; r < target.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    if (best === target[r]) correct++;
  }
  return correct;
}
