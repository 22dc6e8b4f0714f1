import { configError, type StreamKey, type TableSpec } from '@rowshard/core';
import type { DenseParamSpec, Model, ModelContext } from './model.js';
import { dropout } from './ops/elementwise.js';
import { type RowSource, withoutGrad } from './row-source.js';
import { inStepMemory } from './step-scope.js';
import { parameter, type Tensor } from './tensor.js';

/** A ModelContext over given row sources and parameters (single process and trainers alike). */
class SimpleModelContext implements ModelContext {
  private dropoutCalls = 0;

  constructor(
    private readonly sources: ReadonlyMap<string, RowSource>,
    private readonly params: ReadonlyMap<string, Tensor>,
    readonly training: boolean,
    private readonly dropoutKey: StreamKey,
    private readonly stepCounter: number,
  ) {}

  table(name: string): RowSource {
    const s = this.sources.get(name);
    if (!s) throw configError('model', `forward asked for table '${name}', which the model does not declare`);
    return s;
  }

  param(name: string): Tensor {
    const p = this.params.get(name);
    if (!p) throw configError('model', `forward asked for parameter '${name}', which the model does not declare`);
    return p;
  }

  dropout(x: Tensor, p: number): Tensor {
    const call = this.dropoutCalls++;
    return dropout(x, p, this.training, this.dropoutKey, this.stepCounter * 1024 + call);
  }
}

export interface ModelContextOptions {
  readonly model: Model;
  /** Where each table's rows come from: a whole local table, or the rows pulled for a batch. */
  readonly table: (spec: TableSpec) => RowSource;
  /** Each dense parameter: its values (a fresh leaf tensor is made over them), or a tensor kept across steps. */
  readonly param: (spec: DenseParamSpec) => Float32Array | Tensor;
  /** Training records gradients and applies dropout; otherwise lookups record nothing. */
  readonly training: boolean;
  readonly dropoutKey: StreamKey;
  /** The step, for reproducible dropout masks. */
  readonly step: number;
}

/**
 * The context one forward pass runs in, built the same way by the single-process trainer, a
 * worker's training step and its evaluation. Returns the dense parameters' tensors too, so
 * the caller can read their gradients after backward.
 */
export function buildModelContext(o: ModelContextOptions): { ctx: ModelContext; params: ReadonlyMap<string, Tensor> } {
  const sources = new Map<string, RowSource>();
  for (const spec of o.model.tables) {
    const source = o.table(spec);
    sources.set(spec.name, o.training ? source : withoutGrad(source));
  }
  const params = new Map<string, Tensor>();
  for (const spec of o.model.dense) {
    const p = o.param(spec);
    // Values for this pass only (a worker's dense reply): into step memory once, read there by every kernel.
    params.set(spec.name, p instanceof Float32Array ? parameter(spec.name, spec.shape, inStepMemory(p)) : p);
  }
  return { ctx: new SimpleModelContext(sources, params, o.training, o.dropoutKey, o.step), params };
}
