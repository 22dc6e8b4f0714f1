import {
  ErrorCodes,
  type IdArray,
  indexNotInteger,
  indexOutOfRange,
  RowshardError,
  shardOfDense,
  shardOfHashed,
  type TableSpec,
} from '@rowshard/core';
import { idHalves } from './row-kernels.js';

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

/** Gradients: a Float32Array of ids.length × dim finite values. */
export function checkGrads(spec: TableSpec, ids: IdArray, grads: Float32Array): void {
  const want = ids.length * spec.embeddingDim;
  if (grads.length !== want) {
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `table '${spec.name}': gradient has ${grads.length} values; ${ids.length} ids × dim ${spec.embeddingDim} need ${want}`,
      { table: spec.name, expected: want, got: grads.length },
    );
  }
  for (let i = 0; i < grads.length; i++) {
    const g = grads[i];
    if (g - g !== 0) {
      const position = Math.floor(i / spec.embeddingDim);
      throw new RowshardError(
        ErrorCodes.BAD_GRADIENT,
        `table '${spec.name}': gradient of row ${String(ids[position])} (position ${position}) holds ${g}; nothing was applied`,
        { table: spec.name, position, value: String(g) },
      );
    }
  }
}
