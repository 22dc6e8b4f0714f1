import { ErrorCodes, type RowIds, RowshardError } from '@rowshard/core';
import { allocF32 } from './step-scope.js';

/**
 * A float32 tensor: a shape and a row-major Float32Array, plus what reverse-mode autograd
 * needs (a gradient buffer, the tensors it was computed from, and how to push its gradient
 * back to them). No device, no strides, no views: every op writes a fresh contiguous array.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  readonly requiresGrad: boolean;
  /** Accumulated gradient, same length as data; allocated on first accumulate. */
  grad: Float32Array | null = null;
  /** Tensors this one was computed from (empty for leaves). */
  readonly parents: readonly Tensor[];
  /** Propagates this.grad into the parents' grads (and into sparse table gradients). */
  readonly backwardFn: (() => void) | null;
  /** Optional name (parameters carry their state_dict name). */
  name: string | null = null;

  constructor(
    shape: readonly number[],
    data: Float32Array,
    options: { requiresGrad?: boolean; parents?: readonly Tensor[]; backward?: () => void } = {},
  ) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new RowshardError(
        ErrorCodes.BAD_SHAPE,
        `tensor of shape [${shape.join(', ')}] needs ${size} values, got ${data.length}`,
      );
    }
    this.shape = Object.freeze([...shape]);
    this.data = data;
    this.parents = options.parents ?? [];
    this.requiresGrad = options.requiresGrad ?? this.parents.some((p) => p.requiresGrad);
    this.backwardFn = this.requiresGrad ? (options.backward ?? null) : null;
  }

  get size(): number {
    return this.data.length;
  }

  /** Adds `g` (same length) into this tensor's gradient. */
  accumulateGrad(g: Float32Array): void {
    if (!this.requiresGrad) return;
    if (this.grad === null) {
      this.grad = allocF32(g.length);
      this.grad.set(g);
      return;
    }
    const own = this.grad;
    for (let i = 0; i < own.length; i++) own[i] += g[i];
  }

  /** The gradient buffer, allocated as zeros if nothing was accumulated yet. */
  gradBuffer(): Float32Array {
    if (this.grad === null) this.grad = allocF32(this.data.length);
    return this.grad;
  }

  item(): number {
    if (this.data.length !== 1)
      throw new RowshardError(ErrorCodes.BAD_SHAPE, `item() needs one value, tensor has ${this.data.length}`);
    return this.data[0];
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new RowshardError(ErrorCodes.BAD_SHAPE, `bad dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function tensor(shape: readonly number[], values: ArrayLike<number>): Tensor {
  return new Tensor(shape, Float32Array.from(values));
}

export function zeros(shape: readonly number[]): Tensor {
  return new Tensor(shape, allocF32(shapeSize(shape)));
}

/** A trainable leaf (a Linear weight, a bias). */
export function parameter(name: string, shape: readonly number[], data: Float32Array): Tensor {
  const t = new Tensor(shape, data, { requiresGrad: true });
  t.name = name;
  return t;
}

/**
 * Integer index tensors (token ids, user ids): any shape, values validated at lookup. A
 * hashed table's raw 64-bit ids come as a BigUint64Array.
 */
export interface IndexTensor {
  readonly shape: readonly number[];
  readonly data: RowIds;
}

export function indexTensor(shape: readonly number[], data: RowIds): IndexTensor {
  const size = shapeSize(shape);
  if (data.length !== size) {
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `index tensor of shape [${shape.join(', ')}] needs ${size} values, got ${data.length}`,
    );
  }
  return { shape: Object.freeze([...shape]), data };
}

export function assertShape(t: { shape: readonly number[] }, expected: readonly (number | null)[], what: string): void {
  const ok = t.shape.length === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const want = expected.map((d) => (d === null ? '*' : String(d))).join(', ');
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `${what}: expected shape [${want}], got [${t.shape.join(', ')}]`);
  }
}
