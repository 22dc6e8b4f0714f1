import {
  type CoordinatorProtocol,
  coordinatorProtocol,
  ErrorCodes,
  isTransientError,
  type JobConfig,
  prefetches,
  type RowCacheCounts,
  RowshardError,
  requestLimitsOf,
  streamKey,
  sumRowCacheCounts,
  workerSlice,
} from '@rowshard/core';
import { type Batch, type Model, resolveJob, rocAuc } from '@rowshard/nn';
import { crashPoint, crashWanted, RpcClient, type TransportOptions, userModuleImporter } from '@rowshard/transport';
import { BagRouting, pooledPull } from './bag-routing.js';
import { type BatchSource, openBatchSource } from './data/index.js';
import { PsClient } from './ps-client.js';
import { fullPull, type PullPlan, RowCache } from './pull-plan.js';
import { type PulledBatch, type RoutedBatch, WorkerStep } from './worker-step.js';

/** What a trainer hands each worker thread (plain data: it crosses into a piscina worker). */
export interface WorkerTask {
  readonly rank: number;
  readonly workers: number;
  readonly job: Record<string, unknown>;
  readonly shardUrls: readonly string[];
  readonly coordinatorUrl: string;
  /** The trainer's role credential (null: the cluster has no token). */
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

/**
 * One worker's training loop (docs/ARCHITECTURE.md, "One training step"): route the batch's
 * ids and pull their rows (one request per shard, all tables) → forward and backward in the
 * step arena → push each shard its slice of the sparse gradients, and the dense gradients to
 * the coordinator. In BSP and ASP the push of step t carries the pull of step t+1 (one round
 * trip per shard and step; in BSP the shard answers once step t is applied everywhere). SSP
 * waits for the slowest worker to be within `staleness` before each step, then pulls.
 */
export class WorkerLoop {
  private ps: PsClient;
  private shardUrls: readonly string[];
  private readonly coordinator: RpcClient<CoordinatorProtocol>;
  private readonly slice: { start: number; end: number };
  private readonly step: WorkerStep;
  /** One row cache per table of the model, when the sync mode allows reading stale rows. */
  private readonly caches: RowCache[] | null;

  private constructor(
    private readonly task: WorkerTask,
    private readonly job: JobConfig,
    private readonly model: Model,
    private readonly data: BatchSource,
    private readonly evalData: BatchSource | null,
  ) {
    this.shardUrls = task.shardUrls;
    this.ps = this.psClient(task.shardUrls);
    this.coordinator = new RpcClient({
      url: task.coordinatorUrl,
      token: task.token,
      protocol: coordinatorProtocol,
      transport: task.transport,
      peerName: 'coordinator',
    });
    this.slice = workerSlice(job.batchSize, task.rank, task.workers);
    this.step = new WorkerStep(job, model, () => this.ps.numShards);
    const cacheSteps = job.sync.mode === 'bsp' ? 0 : job.sync.cacheSteps;
    this.caches = cacheSteps > 0 ? model.tables.map(() => new RowCache(cacheSteps)) : null;
  }

  static async create(task: WorkerTask): Promise<WorkerLoop> {
    const { job, model } = await resolveJob(task.job, userModuleImporter(import.meta.resolve('@rowshard/nn')));
    const evalData = job.eval ? openBatchSource(job.eval.data, job.eval.batchSize) : null;
    return new WorkerLoop(task, job, model, openBatchSource(job.data, job.batchSize), evalData);
  }

  /** Step `step`'s slice of the global batch, its ids routed. */
  private async routed(step: number): Promise<RoutedBatch> {
    return this.step.route(step, await this.data.slice(step, this.slice.start, this.slice.end));
  }

  /** How a routed batch's rows are pulled: through the row caches (SSP, ASP with cacheSteps), or all of them. */
  private plansFor(routed: RoutedBatch, cached = true): PullPlan[] {
    return routed.routings.map((routing, i) =>
      routing instanceof BagRouting
        ? pooledPull(routing)
        : cached && this.caches
          ? this.caches[i].plan(routing, routed.step)
          : fullPull(routing),
    );
  }

  /**
   * The rows of a routed batch; `gate` (BSP): the step they are for (served once step − 1 is
   * applied everywhere), and for a training step the rank pulling them.
   */
  private async pull(routed: RoutedBatch, gate: { step: number; rank?: number } | null, cached = true): Promise<PulledBatch> {
    const plans = this.plansFor(routed, cached);
    await this.ps.pullPlanned(plans, gate?.step, gate?.rank);
    return { ...routed, plans };
  }

  private async waitClock(step: number, epoch: number): Promise<void> {
    if (this.job.sync.mode === 'ssp') {
      await this.coordinator.request('clock_wait', { rank: this.task.rank, clock: step, epoch }, this.job.timeouts.stepMs);
    }
  }

  /** The training loop; `beforeDone` runs before the coordinator hears this worker is done (which may end the process). */
  async run(beforeDone: () => Promise<void> = async () => {}): Promise<WorkerSummary> {
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
      // A mean over the global batch is the sum of the workers' means, each scaled by its share.
      const scale = this.model.lossReduction === 'sum' ? 1 : size / job.batchSize;
      const dropoutKey = streamKey(job.seed, `dropout:${rank}`);
      const bsp = job.sync.mode === 'bsp';
      // SSP must wait on the clock before it reads step t+1's rows, so only BSP and ASP fold the pull into the push.
      const fold = job.sync.mode !== 'ssp';
      // The step whose pull rides on step t's push: t + 1, or with ASP's prefetch t + 2, the
      // request then left in flight while the worker computes step t + 1 (sync-mode.ts).
      const ahead = prefetches(job.sync) ? 2 : 1;
      const slowMs = job.debug.slowRanks[String(rank)] ?? 0;
      let pulled: PulledBatch | null = null;
      /** With prefetch: step t + 1's batch, its rows coming with `inflight`, the last request sent. */
      let queued: PulledBatch | null = null;
      let inflight: Promise<void> | null = null;
      let lastLoss = Number.NaN;
      let recoveries = 0;
      /** Why this worker waits for a recovery, until the coordinator says where to resume. */
      let recovering: string | null = null;
      let t = this.task.startStep;
      while (t < job.steps || recovering !== null) {
        try {
          if (recovering !== null) {
            // The coordinator restores every shard to the last checkpoint, then says where to
            // resume. This is inside the try: a connection that drops under the recovery
            // itself (a paused process finds its peers gone) is recovered from the same way.
            const r = await this.coordinator.request(
              'recovery_wait',
              { rank, epoch, reason: recovering },
              job.timeouts.registrationMs + job.timeouts.stepMs,
            );
            epoch = r.epoch;
            t = r.resumeStep;
            await this.reconnectShards(r.shardUrls);
            this.ps.epoch = epoch;
            params = (await this.coordinator.request('dense_get', {})).params;
            recovering = null;
            continue;
          }
          if (pulled === null || pulled.step !== t) {
            await this.waitClock(t, epoch);
            pulled = await this.pull(await this.routed(t), bsp ? { step: t, rank } : null);
          }
          if (ahead === 2 && queued === null && t + 1 < job.steps) {
            // Prefetch starts (or starts again): step t + 1's rows are pulled while step t computes.
            const routed = await this.routed(t + 1);
            queued = { ...routed, plans: this.plansFor(routed) };
            inflight = settled(this.ps.pullPlanned(queued.plans));
          }
          // The next batch is read while this one computes (a file reader awaits its records).
          const nextBatch: Promise<Batch> | null =
            fold && t + ahead < job.steps ? Promise.resolve(this.data.slice(t + ahead, this.slice.start, this.slice.end)) : null;
          nextBatch?.catch(() => {}); // awaited below; a failure of this step must not leave it unhandled
          const { loss, gradients, dense } = this.step.train(pulled, params, scale, dropoutKey);
          lastLoss = loss;
          if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
          const next: RoutedBatch | null = nextBatch ? this.step.route(t + ahead, await nextBatch) : null;
          // The last request is answered (its rows placed, a row cache up to date) before the next is planned.
          await inflight;
          inflight = null;
          const nextPulled: PulledBatch | null = next ? { ...next, plans: this.plansFor(next) } : null;
          const sendDenseStep = () =>
            this.coordinator.request(
              'dense_step',
              { step: t, rank, epoch, grads: dense, loss, examples: size, ...this.cacheReport() },
              job.timeouts.stepMs,
            );
          if (this.task.startStep < t && crashWanted('before-push', t)) {
            // A test's crash: the coordinator has the step, the shards never get its push.
            await sendDenseStep();
            crashPoint('before-push', t);
          }
          const push = this.ps.pushPlanned(gradients, { step: t, rank }, nextPulled?.plans ?? null);
          if (this.task.startStep < t && crashWanted('after-push', t)) {
            // A test's crash: the shards have the step, the coordinator never hears of it.
            await push;
            crashPoint('after-push', t);
          }
          const denseStep = sendDenseStep();
          if (ahead === 1) {
            params = (await Promise.all([push, denseStep]))[1].params;
            pulled = nextPulled;
          } else {
            inflight = settled(push);
            params = (await denseStep).params;
            pulled = queued;
            queued = nextPulled;
          }
          examples += size;
          t++;
          const evaluates = this.evaluates(t);
          if (evaluates || t >= job.steps) {
            // Every push of this worker applied before it evaluates or reports its end; awaited
            // here, so that a shard lost under the last push is recovered from as any other.
            await inflight;
            inflight = null;
          }
          if (evaluates) await this.evaluate(t, params, epoch);
        } catch (e) {
          if (!isRecoverable(e) || ++recoveries > MAX_RECOVERIES) throw e;
          pulled = null;
          queued = null;
          inflight = null;
          for (const cache of this.caches ?? []) cache.clear();
          recovering = (e as Error).message;
        }
      }
      await beforeDone();
      await this.coordinator.request('worker_done', { rank, steps: job.steps });
      return { rank, steps: job.steps, examples, seconds: (performance.now() - started) / 1000, lastLoss };
    } finally {
      await Promise.all([this.ps.close(), this.coordinator.close()]);
    }
  }

  /** The row caches' counts so far, for the coordinator's metrics (nothing without caches). */
  private cacheReport(): { rowCache?: RowCacheCounts } {
    return this.caches ? { rowCache: sumRowCacheCounts(this.caches) } : {};
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
   * pulls wait for step `completed` to be applied everywhere. During training a sample
   * (`eval.batches`); after the last step the whole eval file (`eval.finalBatches`: null),
   * never wrapping past its end.
   */
  private async evaluate(completed: number, params: Record<string, Float32Array>, epoch: number): Promise<void> {
    const ev = this.job.eval as NonNullable<JobConfig['eval']>;
    const data = this.evalData as BatchSource;
    const setSize = ev.data.kind === 'file' ? ev.data.examples : null;
    const final = completed === this.job.steps;
    const batches =
      final && ev.finalBatches === null && setSize !== null
        ? Number.POSITIVE_INFINITY
        : final
          ? (ev.finalBatches ?? ev.batches)
          : ev.batches;
    const wanted = Math.min(batches * ev.batchSize, setSize ?? Number.POSITIVE_INFINITY);
    let lossSum = 0;
    let correct = 0;
    let examples = 0;
    // Binary models: every example's logit and label, for the ROC AUC.
    const scores: number[] = [];
    const labels: number[] = [];
    for (let b = 0; b * ev.batchSize < wanted; b++) {
      const batch = await data.slice(b, 0, Math.min(ev.batchSize, wanted - b * ev.batchSize));
      const pulled = await this.pull(
        this.step.route(completed, batch),
        this.job.sync.mode === 'bsp' ? { step: completed } : null,
        false,
      );
      const { output, loss } = this.step.evaluate(pulled, params);
      const n = batch.target.length;
      lossSum += loss * n;
      examples += n;
      if (this.model.task === 'classification')
        correct += countCorrect(output.data, output.shape[output.shape.length - 1], batch.target);
      else if (this.model.task === 'binary') {
        for (let i = 0; i < n; i++) {
          correct += Number(output.data[i] > 0 === batch.target[i] > 0.5);
          scores.push(output.data[i]);
          labels.push(batch.target[i]);
        }
      }
    }
    await this.coordinator.request('eval_report', {
      step: completed,
      epoch,
      examples,
      setSize,
      loss: lossSum / Math.max(1, examples),
      accuracy: this.model.task !== 'regression' ? correct / Math.max(1, examples) : null,
      ...(this.model.task === 'binary' ? { auc: rocAuc(scores, labels) } : {}),
    });
  }

  /** A replaced shard may listen elsewhere: rebuild the PS client when the shard map changed. */
  private async reconnectShards(urls: string[]): Promise<void> {
    if (urls.every((u, i) => u === this.shardUrls[i])) return;
    await this.ps.close();
    this.shardUrls = urls;
    this.ps = this.psClient(urls);
    await this.ps.connect();
  }

  private psClient(shardUrls: readonly string[]): PsClient {
    return new PsClient({
      shardUrls,
      token: this.task.token,
      tables: this.model.tables,
      transport: this.task.transport,
      limits: requestLimitsOf(this.job),
    });
  }
}

const MAX_RECOVERIES = 20;

/**
 * A request left in flight, handled from the start: its failure is thrown where it is awaited,
 * never reported as unhandled if a recovery drops it first.
 */
function settled(request: Promise<void>): Promise<void> {
  request.catch(() => {});
  return request;
}

/**
 * Errors a worker waits out through the coordinator's recovery rather than failing on: the
 * transient ones of its own requests (isTransientError), but for a row sent to the wrong
 * shard, which is the worker's routing and comes out the same after a recovery.
 */
function isRecoverable(e: unknown): boolean {
  return e instanceof RowshardError && e.code !== ErrorCodes.WRONG_SHARD && isTransientError(e);
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
