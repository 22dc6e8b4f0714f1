import { type TableSpecInput, tableSpec } from '@rowshard/core';
import { HashedLocalTable, type HashedSparseGrad } from './hashed-local-table.js';
import { initDenseParam } from './init-dense.js';
import { LocalTable, type SparseGrad } from './local-table.js';
import { embeddingLookup } from './ops/embedding.js';
import { type BagMode, embeddingBag } from './ops/embedding-bag.js';
import { linear } from './ops/linear.js';
import { type IndexTensor, parameter, type Tensor } from './tensor.js';

type EmbeddingOptions = Omit<TableSpecInput, 'numEmbeddings' | 'embeddingDim' | 'name'> & {
  name?: string;
  seed?: number;
  /** Starting weights [numEmbeddings·embeddingDim]; otherwise the spec's init (default N(0,1)). */
  weight?: Float32Array;
};

/**
 * nn.Embedding for single-process use, with PyTorch's constructor arguments. Gradients are
 * always sparse (what `sparse=True` gives in PyTorch): `takeGrad()` returns ids and rows.
 * With `kind: 'hashed'` it takes raw 64-bit ids (a BigUint64Array), `numEmbeddings` being a
 * capacity hint, and a row appears on first lookup with its id's deterministic init.
 */
export class Embedding {
  readonly table: LocalTable | HashedLocalTable;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    const { seed = 0, weight, name = 'embedding', ...rest } = options;
    const spec = tableSpec({ ...rest, name, numEmbeddings, embeddingDim });
    if (spec.kind === 'hashed') {
      if (weight) throw new RangeError(`table '${name}' is hashed: it has no weight matrix to start from`);
      this.table = new HashedLocalTable(spec, seed);
    } else this.table = weight ? new LocalTable(spec, weight) : LocalTable.initialised(spec, seed);
  }

  /** nn.Embedding.from_pretrained: frozen by default, as in PyTorch. */
  static fromPretrained(
    weight: Float32Array,
    shape: readonly [number, number],
    options: Omit<EmbeddingOptions, 'weight'> & { freeze?: boolean } = {},
  ): Embedding {
    const { freeze = true, ...rest } = options;
    return new Embedding(shape[0], shape[1], { ...rest, frozen: freeze, weight: Float32Array.from(weight) });
  }

  /** The weight matrix of a dense table (a hashed one: `table.read(ids)`). */
  get weight(): Float32Array {
    if (this.table instanceof HashedLocalTable)
      throw new RangeError(`table '${this.table.spec.name}' is hashed: read its rows by id (table.read(ids))`);
    return this.table.weights;
  }

  forward(indices: IndexTensor): Tensor {
    return embeddingLookup(this.table, indices);
  }

  takeGrad(): SparseGrad | HashedSparseGrad | null {
    return this.table.takeGrad();
  }
}

/** nn.EmbeddingBag for single-process use. */
export class EmbeddingBag {
  readonly embedding: Embedding;
  readonly mode: BagMode;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions & { mode?: BagMode } = {}) {
    const { mode = 'mean', ...rest } = options;
    this.embedding = new Embedding(numEmbeddings, embeddingDim, rest);
    this.mode = mode;
  }

  get weight(): Float32Array {
    return this.embedding.weight;
  }

  forward(
    input: IndexTensor,
    offsets: ArrayLike<number> | null = null,
    perSampleWeights: Tensor | null = null,
    includeLastOffset = false,
  ): Tensor {
    return embeddingBag(this.embedding.table, input, { mode: this.mode, offsets, perSampleWeights, includeLastOffset });
  }

  takeGrad(): SparseGrad | HashedSparseGrad | null {
    return this.embedding.takeGrad();
  }
}

/** nn.Linear with PyTorch's default init (U(-1/√in, 1/√in) for weight and bias). */
export class Linear {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean; seed?: number; name?: string } = {}) {
    const { bias = true, seed = 0, name = 'linear' } = options;
    const init = { kind: 'linear', fanIn: inFeatures } as const;
    this.weight = parameter(
      `${name}.weight`,
      [outFeatures, inFeatures],
      initDenseParam(seed, `${name}.weight`, outFeatures * inFeatures, init),
    );
    this.bias = bias ? parameter(`${name}.bias`, [outFeatures], initDenseParam(seed, `${name}.bias`, outFeatures, init)) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
