import {
  copyRow,
  findGroup,
  isFrozenAt,
  type JobConfig,
  lrAt,
  poolsBags,
  type RequestLimits,
  requestLimitsOf,
  type SparseOptimizerConfig,
  type StreamKey,
  sparseConfigOf,
  streamKey,
  tableStepAt,
} from '@rowshard/core';
import { StepArena } from '@rowshard/kernels';
import {
  allocF32,
  allocF32Unzeroed,
  type BagOrder,
  type Batch,
  backward,
  buildModelContext,
  inStep,
  type Model,
  type Tensor,
} from '@rowshard/nn';
import { BagRouting, PooledRows, poolable, routeBags } from './bag-routing.js';
import type { RoutedGradient } from './ps-client.js';
import type { PullPlan } from './pull-plan.js';
import { RemoteRows } from './remote-rows.js';
import { routeTable, type TableRouting } from './step-routing.js';

/** A batch with its rows routed: what a step pulls by, and then computes on. */
export interface RoutedBatch {
  readonly step: number;
  readonly batch: Batch;
  /** One routing per table of the model, in model order: its rows, or its bag pooled on the shards. */
  readonly routings: readonly (TableRouting | BagRouting)[];
}

/** A routed batch and the rows pulled for it: per table, the plan that took the replies. */
export interface PulledBatch extends RoutedBatch {
  readonly plans: readonly PullPlan[];
}

export interface StepResult {
  readonly loss: number;
  /** The sparse gradient of each trained table, by shard (arena memory, valid until the next step). */
  readonly gradients: RoutedGradient[];
  /** Every dense parameter's gradient (arena memory, valid until the next step). */
  readonly dense: Record<string, Float32Array>;
}

/**
 * One worker's compute: routing a batch's ids, and forward and backward on pulled rows in a
 * step arena with the WebAssembly kernels. Gradients come out scaled by this worker's share
 * of the global batch (the backward is seeded with it), in the routing's by-shard layout.
 */
export class WorkerStep {
  private readonly arena = new StepArena();
  private readonly limits: RequestLimits;
  private readonly sparseConfigs = new Map<
    string,
    { config: SparseOptimizerConfig; schedule: JobConfig['optimizers'][number]['schedule'] }
  >();

  /**
   * How a bag's rows are added (RowSource.bagOrder): BSP's id tree, whose bits do not depend
   * on the shard count or on whether the shards pooled the bag; position order otherwise.
   */
  private readonly bagOrder: BagOrder;

  constructor(
    private readonly job: JobConfig,
    private readonly model: Model,
    private readonly numShards: () => number,
  ) {
    this.limits = requestLimitsOf(job);
    this.bagOrder = job.sync.mode === 'bsp' ? 'idTree' : 'positions';
    for (const spec of model.tables) {
      if (spec.frozen) continue;
      const group = findGroup(job.optimizers, spec.group, `table '${spec.name}'`);
      this.sparseConfigs.set(spec.name, { config: sparseConfigOf(group), schedule: group.schedule });
    }
  }

  /**
   * Routes each table's ids once: deduped, checked, laid out by shard; or, for a bag the
   * shards reduce this step (sync.poolBags, Model.pooledBags), its positions by shard.
   */
  route(step: number, batch: Batch): RoutedBatch {
    const needed = this.model.rowsNeeded(batch);
    const shards = this.numShards();
    const bags = poolsBags(this.job.sync, shards) ? (this.model.pooledBags?.(batch) ?? {}) : {};
    const routings = this.model.tables.map((spec) => {
      const lists = needed[spec.name] ?? [];
      const bag = bags[spec.name];
      if (bag && poolable(spec, lists, bag, this.limits)) return routeBags(spec, bag, shards, this.bagOrder);
      return routeTable(spec, lists, shards);
    });
    return { step, batch, routings };
  }

  /** Forward and backward of step `pulled.step` with dense parameters `params`; `scale`: this worker's share. */
  train(pulled: PulledBatch, params: Record<string, Float32Array>, scale: number, dropoutKey: StreamKey): StepResult {
    const t = pulled.step;
    return inStep(this.arena, () => {
      const sources = this.model.tables.map((spec, i) => {
        const trainable = this.sparseConfigs.has(spec.name) && !isFrozenAt(this.job.freeze, spec.name, spec.frozen, t);
        return this.source(pulled, i, trainable);
      });
      const { ctx, params: tensors } = buildModelContext({
        model: this.model,
        table: (spec) => sources[this.model.tables.indexOf(spec)],
        param: (spec) => params[spec.name],
        training: true,
        dropoutKey,
        step: t,
      });
      const lossTensor = this.model.loss(this.model.forward(ctx, pulled.batch), pulled.batch);
      backward(lossTensor, scale);
      const gradients: RoutedGradient[] = [];
      for (const source of sources) {
        // Trainable sources are exactly the tables with an optimizer that are not frozen at t.
        const opt = source.trainable ? this.sparseConfigs.get(source.spec.name) : undefined;
        if (!opt) continue;
        const lr = lrAt(opt.config.lr, opt.schedule, t);
        const gradient = shardedGradient(source, lr, tableStepAt(this.job.freeze, source.spec.name, source.spec.frozen, t));
        if (gradient) gradients.push(gradient);
      }
      return { loss: lossTensor.item(), gradients, dense: denseGradients(tensors) };
    });
  }

  /** Forward only, tables read-only and dropout off: the output for a held-out batch. */
  evaluate(pulled: PulledBatch, params: Record<string, Float32Array>): { output: Tensor; loss: number } {
    return inStep(this.arena, () => {
      const sources = this.model.tables.map((_, i) => this.source(pulled, i, false));
      const { ctx } = buildModelContext({
        model: this.model,
        table: (spec) => sources[this.model.tables.indexOf(spec)],
        param: (spec) => params[spec.name],
        training: false,
        dropoutKey: streamKey(0, 'eval'),
        step: 0,
      });
      const output = this.model.forward(ctx, pulled.batch);
      return { output, loss: this.model.loss(output, pulled.batch).item() };
    });
  }

  /**
   * Table i's pulled rows, copied side by side into the arena, and its gradient matrix; or its
   * bag's sums from the shards, added in the arena.
   */
  private source(pulled: PulledBatch, i: number, trainable: boolean): RemoteRows | PooledRows {
    const routing = pulled.routings[i];
    const dim = routing.spec.embeddingDim;
    if (routing instanceof BagRouting) {
      const sums = allocF32Unzeroed(routing.bagCount * dim);
      pulled.plans[i].copyInto(sums);
      return new PooledRows(routing, sums, trainable);
    }
    // Not zeroed: copyInto writes every row (a plan missing a shard's reply throws).
    const rows = allocF32Unzeroed(routing.rows * dim);
    pulled.plans[i].copyInto(rows);
    return new RemoteRows(routing, rows, trainable ? allocF32(routing.rows * dim) : null, this.bagOrder);
  }
}

/**
 * A table's gradient as the push sends it: each shard's slice of the gradient matrix as it
 * stands when every row has a gradient (the usual case), otherwise only the rows that do; for
 * a pooled table, each shard's positions with the gradients of the bags they are in.
 */
function shardedGradient(source: RemoteRows | PooledRows, lr: number, step: number): RoutedGradient | null {
  if (source instanceof PooledRows) return source.gradient(lr, step);
  const grad = source.grad;
  const rowsWithGrad = source.gradientRows();
  if (grad === null || rowsWithGrad === 'none') return null;
  const { routing } = source;
  const dim = routing.spec.embeddingDim;
  return {
    table: routing.spec.name,
    lr,
    step,
    shardSlice(shard) {
      const start = routing.shardStart[shard];
      const end = routing.shardStart[shard + 1];
      if (end === start) return null;
      if (rowsWithGrad === null) return { ids: routing.shardIds(shard), grads: grad.subarray(start * dim, end * dim) };
      let n = 0;
      for (let r = start; r < end; r++) n += rowsWithGrad[r];
      if (n === 0) return null;
      const rows = new Int32Array(n);
      const grads = new Float32Array(n * dim);
      let k = 0;
      for (let r = start; r < end; r++) {
        if (!rowsWithGrad[r]) continue;
        rows[k] = r;
        copyRow(grad, r * dim, grads, k * dim, dim);
        k++;
      }
      return { ids: routing.idsAt(rows), grads };
    },
  };
}

function denseGradients(tensors: ReadonlyMap<string, Tensor>): Record<string, Float32Array> {
  const dense: Record<string, Float32Array> = {};
  for (const [name, tensor] of tensors) dense[name] = tensor.grad ?? allocF32(tensor.size);
  return dense;
}
