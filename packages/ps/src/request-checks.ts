import {
  ErrorCodes,
  type IdArray,
  idHalves,
  indexNotInteger,
  indexOutOfRange,
  RowshardError,
  shardOfDense,
  shardOfHashed,
  type TableSpec,
} from '@rowshard/core';
import type { KernelMemory } from '@rowshard/kernels';
import { kernelBlocks } from './kernel-blocks.js';

/**
 * Checks a request's ids and gradients against a table before anything is applied, so a bad
 * request is rejected whole. Each failure names the table, the position and the value.
 */
export function checkIds(spec: TableSpec, ids: IdArray, shard: number, numShards: number): void {
  if (spec.kind === 'hashed') {
    if (!(ids instanceof BigUint64Array)) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `table '${spec.name}' is hashed: ids must be a BigUint64Array`, {
        table: spec.name,
      });
    }
    const halves = idHalves(ids);
    for (let i = 0; i < ids.length; i++) {
      const owner = shardOfHashed(halves[2 * i], halves[2 * i + 1], numShards);
      if (owner !== shard) throw wrongShard(spec.name, i, ids[i], owner, shard);
    }
    return;
  }
  if (ids instanceof BigUint64Array) {
    throw new RowshardError(
      ErrorCodes.BAD_REQUEST,
      `table '${spec.name}' is dense: ids must be Int32Array, Uint32Array or Float64Array`,
      {
        table: spec.name,
      },
    );
  }
  const n = spec.numEmbeddings;
  const checkInteger = ids instanceof Float64Array;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (checkInteger && !Number.isInteger(v)) throw indexNotInteger(spec.name, i, v);
    if (v < 0 || v >= n) throw indexOutOfRange(spec.name, i, v, n);
    if (shardOfDense(v, numShards) !== shard) throw wrongShard(spec.name, i, v, shardOfDense(v, numShards), shard);
  }
}

function wrongShard(table: string, position: number, id: number | bigint, owner: number, shard: number): RowshardError {
  return new RowshardError(
    ErrorCodes.WRONG_SHARD,
    `table '${table}': row ${id} at position ${position} belongs to shard ${owner}, not this shard ${shard}`,
    { table, position, index: String(id), owner, shard },
  );
}

/**
 * Gradients: a Float32Array of ids.length × dim finite values. The finite check runs as a
 * SIMD kernel over a copy in the shard's memory (a tenth of a scalar loop's time).
 */
export function checkGrads(spec: TableSpec, ids: IdArray, grads: Float32Array, memory: KernelMemory): void {
  const want = ids.length * spec.embeddingDim;
  if (grads.length !== want) {
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `table '${spec.name}': gradient has ${grads.length} values; ${ids.length} ids × dim ${spec.embeddingDim} need ${want}`,
      { table: spec.name, expected: want, got: grads.length },
    );
  }
  const i = firstNonFinite(grads, memory);
  if (i >= 0) {
    const position = Math.floor(i / spec.embeddingDim);
    throw new RowshardError(
      ErrorCodes.BAD_GRADIENT,
      `table '${spec.name}': gradient of row ${String(ids[position])} (position ${position}) holds ${grads[i]}; nothing was applied`,
      { table: spec.name, position, value: String(grads[i]) },
    );
  }
}

/**
 * Rows or optimizer state set outright (`load`) must be finite: a NaN or infinite row poisons
 * every lookup of it and every update after, and nothing downstream would say where it came
 * from. Runs as the same SIMD kernel as the gradient check, over a copy in the shard's memory.
 */
export function checkFinite(
  spec: TableSpec,
  ids: IdArray,
  values: Float32Array,
  perRow: number,
  what: string,
  memory: KernelMemory,
): void {
  const i = firstNonFinite(values, memory);
  if (i >= 0) {
    const position = Math.floor(i / perRow);
    throw new RowshardError(
      ErrorCodes.BAD_REQUEST,
      `load '${spec.name}': ${what} of row ${String(ids[position])} (position ${position}) holds ${values[i]}; nothing was loaded`,
      { table: spec.name, position, value: String(values[i]) },
    );
  }
}

/**
 * The index of the first NaN or infinity in `values`, or -1: a SIMD kernel over a copy in the
 * shard's memory, or a loop in JavaScript where the memory has no room for the copy.
 */
export function firstNonFinite(values: Float32Array, memory: KernelMemory): number {
  if (values.length === 0) return -1;
  const blocks = kernelBlocks(memory, [values.byteLength]);
  if (!blocks) return values.findIndex((v) => !Number.isFinite(v));
  const [at] = blocks.at;
  memory.f32(at, values.length).set(values);
  const i = memory.exports.firstNonFinite(values.length, at);
  blocks.release();
  return i;
}
