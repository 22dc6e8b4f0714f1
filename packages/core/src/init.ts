import type { InitSpec } from './init-spec.js';
import { fillNormalRow, fillUniformRow, type StreamKey, streamKey } from './rng.js';
import type { TableSpec } from './table-spec.js';

/** Stream tag of table-row initialisation; other uses of a table's key pick other tags. */
export const INIT_STREAM_TAG = 0;

/**
 * Everything needed to initialise any row of one table, computed once per table. A row's
 * values depend only on (seed, table name, row id): see rng.ts for why.
 */
export interface RowInitializer {
  readonly dim: number;
  /** Writes the initial values of the row with id (lo, hi) into out[offset .. offset+dim). */
  fill(rowLo: number, rowHi: number, out: Float32Array, offset: number): void;
  /**
   * Rows first .. first+count-1 (ids under 2^32), one after another from out[offset]: what
   * `fill` gives each, written many rows at a time where the init allows it (a model file's
   * millions of untouched rows).
   */
  fillRange(first: number, count: number, out: Float32Array, offset: number): void;
}

/** Draws `count` values of a row into out[offset ..]: (p1, p2) are (a, b) for uniform, (mean, std) for normal. */
export type RowDraw = (
  key: StreamKey,
  rowLo: number,
  rowHi: number,
  tag: number,
  out: Float32Array,
  offset: number,
  count: number,
  p1: number,
  p2: number,
) => void;

/**
 * What draws a row's random init. JavaScript here (fillUniformRow, fillNormalRow); the kernels
 * package has a WebAssembly one with the same bits, which shards use.
 */
export interface RowRandom {
  readonly uniform: RowDraw;
  readonly normal: RowDraw;
  /**
   * Uniform rows first .. first+rows-1 (high word 0), `dim` values each, one after another from
   * out[offset]: each what `uniform` draws for it. Optional: a RowRandom without it is called row by row.
   */
  readonly uniformRows?: (
    key: StreamKey,
    first: number,
    tag: number,
    out: Float32Array,
    offset: number,
    rows: number,
    dim: number,
    a: number,
    b: number,
  ) => void;
}

export const jsRowRandom: RowRandom = { uniform: fillUniformRow, normal: fillNormalRow };

export function rowInitializer(table: TableSpec, seed: number, random: RowRandom = jsRowRandom): RowInitializer {
  const key = streamKey(seed, `table:${table.name}`);
  const dim = table.embeddingDim;
  const padding = table.kind === 'dense' ? table.paddingIdx : null;
  const fillValues = initFiller(table.init, key, dim, random);
  // Many uniform rows in one call where the RowRandom draws them so; else row by row.
  const init = table.init;
  const uniformRows = random.uniformRows;
  const drawRange =
    init.kind === 'uniform' && uniformRows
      ? (first: number, count: number, out: Float32Array, offset: number) =>
          uniformRows(key, first, INIT_STREAM_TAG, out, offset, count, dim, init.a, init.b)
      : null;
  const fill = (rowLo: number, rowHi: number, out: Float32Array, offset: number) => {
    if (padding !== null && rowHi === 0 && rowLo === padding) {
      out.fill(0, offset, offset + dim);
      return;
    }
    fillValues(rowLo, rowHi, out, offset);
  };
  return {
    dim,
    fill,
    fillRange(first, count, out, offset) {
      if (!drawRange) {
        for (let r = 0; r < count; r++) fill(first + r, 0, out, offset + r * dim);
        return;
      }
      drawRange(first, count, out, offset);
      if (padding !== null && padding >= first && padding < first + count) {
        const at = offset + (padding - first) * dim;
        out.fill(0, at, at + dim);
      }
    },
  };
}

function initFiller(
  init: InitSpec,
  key: StreamKey,
  dim: number,
  random: RowRandom,
): (rowLo: number, rowHi: number, out: Float32Array, offset: number) => void {
  switch (init.kind) {
    case 'normal':
      return (lo, hi, out, off) => random.normal(key, lo, hi, INIT_STREAM_TAG, out, off, dim, init.mean, init.std);
    case 'uniform':
      return (lo, hi, out, off) => random.uniform(key, lo, hi, INIT_STREAM_TAG, out, off, dim, init.a, init.b);
    case 'zeros':
      return (_lo, _hi, out, off) => out.fill(0, off, off + dim);
    case 'constant':
      return (_lo, _hi, out, off) => out.fill(init.value, off, off + dim);
  }
}

/** Materialises a whole dense table (single-process mode and tests): row-major [V, dim]. */
export function initDenseTable(table: TableSpec, seed: number): Float32Array {
  const init = rowInitializer(table, seed);
  const out = new Float32Array(table.numEmbeddings * table.embeddingDim);
  for (let r = 0; r < table.numEmbeddings; r++) init.fill(r, 0, out, r * table.embeddingDim);
  return out;
}
