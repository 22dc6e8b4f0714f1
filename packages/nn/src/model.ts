import { configError, type RowIds, type TableOverride, type TableSpec } from '@rowshard/core';
import type { DenseInit } from './init-dense.js';
import type { RowSource } from './row-source.js';
import type { IndexTensor, Tensor } from './tensor.js';

/** A dense (non-embedding) parameter: a Linear weight or bias, with its state_dict name. */
export interface DenseParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: DenseInit;
  /** Optimizer group (default `dense`). */
  readonly group: string;
}

/** One minibatch, as every data reader and fixture produces it. */
export interface Batch {
  /** One index tensor per model input (token ids [B, L], user ids [B], ...). */
  readonly inputs: readonly IndexTensor[];
  /** Bag offsets for inputs that are bags (fastText); absent or null elsewhere. */
  readonly offsets?: readonly (ArrayLike<number> | null)[];
  /** Class ids for classification, values for regression; one per example. */
  readonly target: ArrayLike<number>;
  /** Float inputs that lead with the example dimension (a CTR model's dense features [B, n]); absent elsewhere. */
  readonly values?: readonly ValueTensor[];
}

/** A float input of a batch: a shape and its row-major values. */
export interface ValueTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * A bag a model's forward reduces with an EmbeddingBag sum or mean: `ids` (the very list
 * rowsNeeded gives for the table), bag b covering positions bounds[b] .. bounds[b+1], every
 * position counted (embeddingBag of a table without padding_idx or per-sample weights, or
 * embeddingMean).
 */
export interface PooledBag {
  readonly ids: RowIds;
  readonly bounds: Int32Array;
  readonly mode: 'sum' | 'mean';
}

/** What a model's forward sees: its tables (as row sources), its dense parameters, the mode. */
export interface ModelContext {
  table(name: string): RowSource;
  param(name: string): Tensor;
  readonly training: boolean;
  /** nn.Dropout with a reproducible mask (see ops/elementwise.ts). */
  dropout(x: Tensor, p: number): Tensor;
}

/**
 * A model: tables and dense parameters it declares, the rows a batch needs (so a trainer
 * can pull them all in one request per shard before running forward), forward and loss.
 * Built-in models live in models/; a user module default-exports the same shape.
 */
export interface Model {
  readonly name: string;
  /** What eval reports beside the loss: accuracy for 'classification' (argmax) and 'binary' (one logit, > 0 is 1). */
  readonly task: 'classification' | 'regression' | 'binary';
  readonly tables: readonly TableSpec[];
  readonly dense: readonly DenseParamSpec[];
  /** Per table, the lists of ids the batch looks up (numbers, or a BigUint64Array for a hashed table). */
  rowsNeeded(batch: Batch): Record<string, readonly RowIds[]>;
  forward(ctx: ModelContext, batch: Batch): Tensor;
  loss(output: Tensor, batch: Batch): Tensor;
  /**
   * Optional: per table, the bag its forward reduces, where that is the table's only lookup
   * and one of the kinds PooledBag lists. A trainer may then have the shards reduce it
   * (sync.poolBags): the forward gets each bag's sum or mean without the rows, and the shards
   * take each bag's gradient. The forward must look the table up exactly so.
   */
  pooledBags?(batch: Batch): Record<string, PooledBag>;
  /**
   * How `loss` reduces a batch: `mean` (default: a worker's gradients are scaled by its share
   * of the global batch, so the workers' pushes add up to the global mean) or `sum` (they add
   * up to the global sum as they are).
   */
  readonly lossReduction?: 'mean' | 'sum';
}

/** Checks a model's declarations once, so a mistake in a user module fails at load time. */
export function validateModel(model: Model, where = 'model'): Model {
  const names = new Set<string>();
  for (const t of model.tables) {
    if (names.has(t.name)) throw configError(`${where}.tables`, `table '${t.name}' is declared twice`);
    names.add(t.name);
  }
  for (const p of model.dense) {
    if (names.has(p.name)) throw configError(`${where}.dense`, `parameter '${p.name}' clashes with another name`);
    names.add(p.name);
  }
  if (!Array.isArray(model.tables) || !Array.isArray(model.dense) || typeof model.name !== 'string') {
    throw configError(where, 'must have name, tables and dense');
  }
  for (const fn of ['rowsNeeded', 'forward', 'loss'] as const) {
    if (typeof model[fn] !== 'function') throw configError(`${where}.${fn}`, 'must be a function');
  }
  if (model.pooledBags !== undefined && typeof model.pooledBags !== 'function')
    throw configError(`${where}.pooledBags`, 'must be a function');
  if (model.lossReduction !== undefined && model.lossReduction !== 'mean' && model.lossReduction !== 'sum')
    throw configError(`${where}.lossReduction`, `must be 'mean' or 'sum', got ${JSON.stringify(model.lossReduction)}`);
  return model;
}

/** The state_dict name of a table's weight, as PyTorch names an nn.Embedding's. */
export function tableStateName(table: string): string {
  return `${table}.weight`;
}

/**
 * A job's per-table changes applied to a model's declarations: frozen (from_pretrained
 * freezes by default, as PyTorch), optimizer group. Every role applies the same overrides.
 */
export function applyTableOverrides(model: Model, overrides: Readonly<Record<string, TableOverride>>): Model {
  if (Object.keys(overrides).length === 0) return model;
  const tables = model.tables.map((t) => {
    const o = overrides[t.name];
    if (!o) return t;
    const frozen = o.frozen ?? o.pretrained?.freeze ?? t.frozen;
    if ((o.admission || o.eviction) && t.kind !== 'hashed') {
      throw configError(
        `tables.${t.name}.${o.admission ? 'admission' : 'eviction'}`,
        `table '${t.name}' is dense: admission and eviction apply to hashed tables only (kind: 'hashed')`,
      );
    }
    return Object.freeze({
      ...t,
      frozen,
      group: o.group ?? t.group,
      admission: o.admission ?? t.admission,
      eviction: o.eviction ?? t.eviction,
    });
  });
  return {
    ...model,
    tables,
    rowsNeeded: model.rowsNeeded,
    forward: model.forward,
    loss: model.loss,
    pooledBags: model.pooledBags,
  };
}
