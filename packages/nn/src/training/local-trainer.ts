import {
  applySparseGradient,
  configError,
  createDenseState,
  createTableState,
  type DenseOptimizerConfig,
  type DenseOptimizerState,
  type DenseTableState,
  denseConfigOf,
  denseOptimizerStep,
  type FreezeWindow,
  findGroup,
  isFrozenAt,
  lrAt,
  type OptimizerGroup,
  type SparseRowOptimizer,
  sparseConfigOf,
  sparseRowOptimizer,
  streamKey,
  tableStepAt,
} from '@rowshard/core';
import { type KernelsName, StepArena } from '@rowshard/kernels';
import { backward } from '../autograd.js';
import { HashedLocalTable, type HashedSparseGrad } from '../hashed-local-table.js';
import { initDenseParam } from '../init-dense.js';
import { LocalTable } from '../local-table.js';
import { type Batch, type Model, type ModelContext, tableStateName } from '../model.js';
import { buildModelContext } from '../model-context.js';
import { inStep } from '../step-scope.js';
import { parameter, shapeSize, Tensor } from '../tensor.js';

export interface LocalTrainerOptions {
  model: Model;
  groups: readonly OptimizerGroup[];
  /** Job seed for tables, dense parameters and dropout (default 0). */
  seed?: number;
  /** Starting values by state_dict name (`embedding.weight`, `fc1.bias`); others are initialised. */
  initialState?: Readonly<Record<string, Float32Array>>;
  /** When tables are frozen (a job's `freeze`); a frozen table records no gradient and takes no step. */
  freeze?: readonly FreezeWindow[];
  /** WebAssembly SIMD kernels in a step arena (default), or the JavaScript reference kernels. */
  kernels?: KernelsName;
  /** Hashed tables with admission or eviction: the shard count whose per-shard sketches and capacities to follow (default 1). */
  numShards?: number;
}

interface TrainedTable {
  /** A dense table as one array; a hashed one keyed by 64-bit ids, its rows made on first lookup. */
  readonly table: LocalTable | HashedLocalTable;
  readonly group: OptimizerGroup | null;
  readonly optimizer: SparseRowOptimizer | null;
  readonly state: DenseTableState | null;
  steps: number;
}

interface TrainedParam {
  readonly tensor: Tensor;
  readonly group: OptimizerGroup;
  readonly config: DenseOptimizerConfig;
  readonly state: DenseOptimizerState;
}

export interface StateTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * The whole training loop in one process: the reference implementation that the fixtures
 * check and that the distributed path must agree with. One `trainStep` is PyTorch's
 * zero_grad → forward → loss.backward() → optimizer.step() for every group.
 */
export class LocalTrainer {
  readonly model: Model;
  readonly seed: number;
  private readonly freeze: readonly FreezeWindow[];
  readonly tables = new Map<string, TrainedTable>();
  readonly params = new Map<string, TrainedParam>();
  /** Optimizer steps taken (0-based index of the next step, for lr schedules). */
  stepsTaken = 0;
  private readonly arena: StepArena | null;

  constructor(options: LocalTrainerOptions) {
    this.model = options.model;
    this.seed = options.seed ?? 0;
    this.freeze = options.freeze ?? [];
    this.arena = (options.kernels ?? 'wasm') === 'wasm' ? new StepArena() : null;
    const initial = options.initialState ?? {};
    for (const spec of this.model.tables) {
      const name = tableStateName(spec.name);
      const given = initial[name];
      const group = spec.frozen ? null : findGroup(options.groups, spec.group, `table '${spec.name}'`);
      const optimizer = group ? sparseRowOptimizer(sparseConfigOf(group), spec.embeddingDim) : null;
      if (spec.kind === 'hashed') {
        if (given)
          throw configError(
            `initialState.${name}`,
            `table '${spec.name}' is hashed: its rows are keyed by id, not given as one matrix`,
          );
        // The optimizer state lives beside each row, as on a shard.
        const table = new HashedLocalTable(spec, this.seed, optimizer ? optimizer.config : null, options.numShards ?? 1);
        this.tables.set(spec.name, { table, group, optimizer, state: null, steps: 0 });
        continue;
      }
      const table = given ? new LocalTable(spec, Float32Array.from(given)) : LocalTable.initialised(spec, this.seed);
      const state = optimizer ? createTableState(optimizer, table.weights) : null;
      this.tables.set(spec.name, { table, group, optimizer, state, steps: 0 });
    }
    for (const p of this.model.dense) {
      const size = shapeSize(p.shape);
      const given = initial[p.name];
      if (given && given.length !== size) {
        throw configError(
          `initialState.${p.name}`,
          `has ${given.length} values, parameter [${p.shape.join(', ')}] needs ${size}`,
        );
      }
      const data = given ? Float32Array.from(given) : initDenseParam(this.seed, p.name, size, p.init);
      const group = findGroup(options.groups, p.group, `parameter '${p.name}'`);
      const config = denseConfigOf(group);
      this.params.set(p.name, { tensor: parameter(p.name, p.shape, data), group, config, state: createDenseState(config, size) });
    }
  }

  private context(training: boolean): ModelContext {
    return buildModelContext({
      model: this.model,
      table: (spec) => (this.tables.get(spec.name) as TrainedTable).table,
      param: (spec) => (this.params.get(spec.name) as TrainedParam).tensor,
      training,
      dropoutKey: streamKey(this.seed, 'dropout'),
      step: this.stepsTaken,
    }).ctx;
  }

  /** Runs one step's forward and backward in the step arena (when it has one). */
  private inArena<T>(fn: () => T): T {
    return this.arena ? inStep(this.arena, fn) : fn();
  }

  /** One optimizer step on one batch; returns the loss. */
  trainStep(batch: Batch): number {
    return this.inArena(() => this.step(batch));
  }

  private step(batch: Batch): number {
    for (const p of this.params.values()) p.tensor.grad = null;
    for (const [name, t] of this.tables) {
      t.table.trainable = !isFrozenAt(this.freeze, name, t.table.spec.frozen, this.stepsTaken);
      if (t.table instanceof HashedLocalTable) t.table.clock = this.stepsTaken;
    }
    const output = this.model.forward(this.context(true), batch);
    const loss = this.model.loss(output, batch);
    backward(loss);
    const step = this.stepsTaken;
    for (const [name, t] of this.tables) {
      const table = t.table;
      const grad = table.takeGrad();
      if (!t.optimizer || !t.group || !table.trainable) continue;
      t.steps = tableStepAt(this.freeze, name, table.spec.frozen, step);
      if (!grad) continue;
      const lr = lrAt(t.optimizer.config.lr, t.group.schedule, step);
      if (table instanceof HashedLocalTable) table.applyGradient(grad as HashedSparseGrad, { lr, step: t.steps });
      // takeGrad leaves the padding row out.
      else if (t.state) applySparseGradient(t.optimizer, t.state, grad.ids as Float64Array, grad.rows, { lr, step: t.steps });
    }
    // The step's boundary for hashed tables whose rows come and go (eviction), as every shard's.
    for (const t of this.tables.values()) if (t.table instanceof HashedLocalTable) t.table.endStep(step);
    for (const p of this.params.values()) {
      const grad = p.tensor.grad ?? new Float32Array(p.tensor.size);
      denseOptimizerStep(p.config, p.tensor.data, grad, p.state, lrAt(p.config.lr, p.group.schedule, step));
    }
    this.stepsTaken += 1;
    return loss.item();
  }

  /** Forward without gradients or dropout: the model's output for a batch (a tensor of its own). */
  predict(batch: Batch): Tensor {
    return this.inArena(() => {
      const out = this.model.forward(this.context(false), batch);
      return new Tensor(out.shape, Float32Array.from(out.data));
    });
  }

  /** A hashed table's rows: every id it holds (order of first touch) and their rows [ids, dim]. */
  hashedRows(name: string): { ids: BigUint64Array; weights: Float32Array } {
    const table = this.tables.get(name)?.table;
    if (!(table instanceof HashedLocalTable)) throw new RangeError(`'${name}' is not a hashed table of this model`);
    const ids = table.ids();
    return { ids, weights: table.read(ids) };
  }

  /** Every dense table and dense parameter by its PyTorch state_dict name (hashed tables: hashedRows). */
  stateDict(): Record<string, StateTensor> {
    const out: Record<string, StateTensor> = {};
    for (const [name, t] of this.tables) {
      if (t.table instanceof HashedLocalTable) continue;
      out[tableStateName(name)] = { shape: [t.table.spec.numEmbeddings, t.table.spec.embeddingDim], data: t.table.weights };
    }
    for (const [name, p] of this.params) out[name] = { shape: p.tensor.shape, data: p.tensor.data };
    return out;
  }
}
