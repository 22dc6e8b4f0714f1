import {
  checkDenseIndices,
  Deduper,
  ErrorCodes,
  HashedIndex,
  type IdArray,
  IdIndex,
  idHalves,
  indexNotInteger,
  indexOutOfRange,
  type RowIds,
  RowshardError,
  shardOfDense,
  shardOfHashed,
  type TableSpec,
} from '@rowshard/core';

/**
 * One table's rows for one step, worked out once: the step's distinct ids, laid out by the
 * shard that owns them (shard 0's first, then shard 1's, ...), and for each list of ids the
 * model asked for (`rowsNeeded`) the row each position reads. The pull asks each shard for
 * its contiguous slice, the replies land side by side in one rows matrix, the backward adds
 * into a gradient matrix of the same layout, and the push sends each shard its slice of it:
 * the ids are deduped and routed once, and no row is reordered (docs/ARCHITECTURE.md, "One
 * training step").
 */
export class TableRouting {
  /** Distinct ids by shard: Uint32Array for dense tables (at most 2^32 − 1 rows), BigUint64Array for hashed ones. */
  readonly ids: Uint32Array | BigUint64Array;
  /** Shard s holds rows shardStart[s] .. shardStart[s+1]. */
  readonly shardStart: Int32Array;
  private readonly rowOfList: Map<RowIds, Int32Array>;
  private index: IdIndex | null = null;
  private index64: HashedIndex | null = null;

  constructor(
    readonly spec: TableSpec,
    ids: Uint32Array | BigUint64Array,
    shardStart: Int32Array,
    rowOfList: Map<RowIds, Int32Array>,
  ) {
    this.ids = ids;
    this.shardStart = shardStart;
    this.rowOfList = rowOfList;
  }

  get rows(): number {
    return this.ids.length;
  }

  get numShards(): number {
    return this.shardStart.length - 1;
  }

  /** Shard `shard`'s ids: a view, no copy. */
  shardIds(shard: number): IdArray {
    return this.ids.subarray(this.shardStart[shard], this.shardStart[shard + 1]);
  }

  /** The row each position of `list` reads, if `list` is one the routing was built from. */
  rowsOf(list: RowIds): Int32Array | undefined {
    return this.rowOfList.get(list);
  }

  /** Lists the routing was built from. */
  lists(): IterableIterator<[RowIds, Int32Array]> {
    return this.rowOfList.entries();
  }

  /** The ids at rows `rows` (ascending), a new array of the routing's kind. */
  idsAt(rows: Int32Array): IdArray {
    const all = this.ids;
    if (all instanceof BigUint64Array) return BigUint64Array.from(rows, (r) => all[r]);
    return Uint32Array.from(rows, (r) => all[r]);
  }

  /** The row of id `id` in this routing, or -1 when the step does not hold it. */
  rowOfId(id: number | bigint): number {
    const ids = this.ids;
    if (ids instanceof BigUint64Array) {
      // 64-bit ids by their halves: a number would round them past 2^53.
      if (this.index64 === null) {
        this.index64 = new HashedIndex(2 * ids.length);
        const halves = idHalves(ids);
        for (let r = 0; r < ids.length; r++) this.index64.getOrInsert(halves[2 * r], halves[2 * r + 1]);
      }
      if (typeof id === 'bigint') return this.index64.get(Number(id & 0xffffffffn), Number(id >> 32n));
      return this.index64.get(id >>> 0, Math.floor(id / 4294967296));
    }
    if (typeof id === 'bigint') return id > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : this.rowOfId(Number(id));
    this.index ??= new IdIndex(ids);
    return this.index.indexOf(id);
  }

  /**
   * The rows of ids the routing was not built from as such (a model that looks up a slice of
   * its input): each must be among this step's ids.
   */
  rowsOfOther(indices: RowIds): Int32Array {
    const out = new Int32Array(indices.length);
    for (let p = 0; p < indices.length; p++) {
      const row = this.rowOfId(indices[p]);
      if (row < 0) {
        throw new RowshardError(
          ErrorCodes.BAD_REQUEST,
          `table '${this.spec.name}': forward looked up row ${indices[p]}, which rowsNeeded() did not list for this batch`,
          { table: this.spec.name, position: p },
        );
      }
      out[p] = row;
    }
    return out;
  }
}

const deduper = new Deduper();
let scratchOwner = new Int32Array(0);
let scratchPosition = new Int32Array(0);

/**
 * Routes one table's lists: checks every id (an integer in [0, numEmbeddings); a hashed table
 * takes any 64-bit id, as a BigUint64Array, or numbers below 2^53: the error names table,
 * position and range), dedupes them together in first-occurrence order, then places each
 * distinct id in its shard's slice.
 */
export function routeTable(spec: TableSpec, lists: readonly RowIds[], numShards: number): TableRouting {
  if (spec.kind === 'hashed') return routeHashed(spec, lists, numShards);
  const limit = spec.numEmbeddings;
  for (const list of lists) {
    if (list instanceof BigUint64Array) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `table '${spec.name}' is dense: rowsNeeded() gave 64-bit ids (a BigUint64Array), which only kind: 'hashed' tables take`,
        { table: spec.name },
      );
    }
  }
  return routeDense(spec, lists as readonly ArrayLike<number>[], limit, numShards);
}

function routeDense(spec: TableSpec, lists: readonly ArrayLike<number>[], limit: number, numShards: number): TableRouting {
  let total = 0;
  for (const list of lists) total += list.length;
  // One dedupe across every list, its tables reused from step to step.
  deduper.reset(total);
  const inverses: Int32Array[] = [];
  for (const list of lists) {
    const inverse = new Int32Array(list.length);
    checkDenseIndices(spec.name, list, limit);
    for (let p = 0; p < list.length; p++) inverse[p] = deduper.indexOf(list[p]);
    inverses.push(inverse);
  }
  const distinct = deduper.count;
  const unique = deduper.distinct();
  if (scratchOwner.length < distinct) {
    scratchOwner = new Int32Array(distinct);
    scratchPosition = new Int32Array(distinct);
  }
  const owner = scratchOwner;
  const position = scratchPosition;
  // Place distinct ids by shard: count, prefix sums, fill (stable: first-occurrence order within a shard).
  const counts = new Int32Array(numShards);
  for (let u = 0; u < distinct; u++) {
    const id = unique[u];
    owner[u] = shardOfDense(id, numShards);
    counts[owner[u]]++;
  }
  const shardStart = new Int32Array(numShards + 1);
  for (let s = 0; s < numShards; s++) shardStart[s + 1] = shardStart[s] + counts[s];
  const fill = shardStart.slice(0, numShards);
  const ids = new Uint32Array(distinct);
  for (let u = 0; u < distinct; u++) {
    const at = fill[owner[u]]++;
    position[u] = at;
    ids[at] = unique[u];
  }
  const rowOfList = new Map<RowIds, Int32Array>();
  lists.forEach((list, i) => {
    const inverse = inverses[i];
    for (let p = 0; p < inverse.length; p++) inverse[p] = position[inverse[p]];
    rowOfList.set(list, inverse);
  });
  return new TableRouting(spec, ids, shardStart, rowOfList);
}

/**
 * routeTable for a hashed table: every id as its (lo, hi) halves, never as a number (a
 * BigUint64Array's ids are read in place), deduped by a HashedIndex in first-occurrence order.
 */
function routeHashed(spec: TableSpec, lists: readonly RowIds[], numShards: number): TableRouting {
  let total = 0;
  for (const list of lists) total += list.length;
  const seen = new HashedIndex(2 * total);
  const unique = new Uint32Array(2 * total);
  const inverses: Int32Array[] = [];
  for (const list of lists) {
    if (!(list instanceof BigUint64Array)) checkHashedNumbers(spec, list);
    const halves = idHalves(list);
    const inverse = new Int32Array(list.length);
    for (let p = 0; p < list.length; p++) {
      const lo = halves[2 * p];
      const hi = halves[2 * p + 1];
      const before = seen.size;
      const u = seen.getOrInsert(lo, hi);
      if (seen.size !== before) {
        unique[2 * u] = lo;
        unique[2 * u + 1] = hi;
      }
      inverse[p] = u;
    }
    inverses.push(inverse);
  }
  const distinct = seen.size;
  const owner = new Int32Array(distinct);
  const counts = new Int32Array(numShards);
  for (let u = 0; u < distinct; u++) {
    owner[u] = shardOfHashed(unique[2 * u], unique[2 * u + 1], numShards);
    counts[owner[u]]++;
  }
  const shardStart = new Int32Array(numShards + 1);
  for (let s = 0; s < numShards; s++) shardStart[s + 1] = shardStart[s] + counts[s];
  const fill = shardStart.slice(0, numShards);
  const ids = new BigUint64Array(distinct);
  // Each id goes in as its two 32-bit halves (little-endian), not through a BigInt per id.
  const words = new Uint32Array(ids.buffer);
  const position = new Int32Array(distinct);
  for (let u = 0; u < distinct; u++) {
    const at = fill[owner[u]]++;
    position[u] = at;
    words[2 * at] = unique[2 * u];
    words[2 * at + 1] = unique[2 * u + 1];
  }
  const rowOfList = new Map<RowIds, Int32Array>();
  lists.forEach((list, i) => {
    const inverse = inverses[i];
    for (let p = 0; p < inverse.length; p++) inverse[p] = position[inverse[p]];
    rowOfList.set(list, inverse);
  });
  return new TableRouting(spec, ids, shardStart, rowOfList);
}

/** Numbers for a hashed table: integers in [0, 2^53) (past that a number cannot hold an id exactly). */
function checkHashedNumbers(spec: TableSpec, list: ArrayLike<number>): void {
  if (list instanceof Int32Array) {
    for (let p = 0; p < list.length; p++) if (list[p] < 0) throw indexOutOfRange(spec.name, p, list[p], spec.numEmbeddings);
    return;
  }
  if (list instanceof Uint32Array) return;
  for (let p = 0; p < list.length; p++) {
    const id = list[p];
    if (!Number.isInteger(id)) throw indexNotInteger(spec.name, p, id);
    if (id < 0 || id > Number.MAX_SAFE_INTEGER) {
      throw new RowshardError(
        ErrorCodes.INDEX_OUT_OF_RANGE,
        `table '${spec.name}' is hashed: position ${p} holds ${id}, not an id; give 64-bit ids as a BigUint64Array, or numbers in [0, 2^53)`,
        { table: spec.name, position: p, index: id },
      );
    }
  }
}
