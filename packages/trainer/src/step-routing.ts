import {
  Deduper,
  ErrorCodes,
  type IdArray,
  IdIndex,
  indexNotInteger,
  indexOutOfRange,
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
  private readonly rowOfList: Map<ArrayLike<number>, Int32Array>;
  private index: IdIndex | null = null;

  constructor(
    readonly spec: TableSpec,
    ids: Uint32Array | BigUint64Array,
    shardStart: Int32Array,
    rowOfList: Map<ArrayLike<number>, Int32Array>,
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
  rowsOf(list: ArrayLike<number>): Int32Array | undefined {
    return this.rowOfList.get(list);
  }

  /** Lists the routing was built from. */
  lists(): IterableIterator<[ArrayLike<number>, Int32Array]> {
    return this.rowOfList.entries();
  }

  /** The ids at rows `rows` (ascending), a new array of the routing's kind. */
  idsAt(rows: Int32Array): IdArray {
    const all = this.ids;
    if (all instanceof BigUint64Array) return BigUint64Array.from(rows, (r) => all[r]);
    return Uint32Array.from(rows, (r) => all[r]);
  }

  /** The row of id `id` in this routing, or -1 when the step does not hold it. */
  rowOfId(id: number): number {
    if (this.index === null) {
      const asNumbers = this.ids instanceof BigUint64Array ? Float64Array.from(this.ids, Number) : this.ids;
      this.index = new IdIndex(asNumbers);
    }
    return this.index.indexOf(id);
  }

  /**
   * The rows of ids the routing was not built from as such (a model that looks up a slice of
   * its input): each must be among this step's ids.
   */
  rowsOfOther(indices: ArrayLike<number>): Int32Array {
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
 * Routes one table's lists: checks every id (an integer in [0, numEmbeddings), or below 2^53
 * for hashed tables: the error names table, position and range), dedupes them together in
 * first-occurrence order, then places each distinct id in its shard's slice.
 */
export function routeTable(spec: TableSpec, lists: readonly ArrayLike<number>[], numShards: number): TableRouting {
  const hashed = spec.kind === 'hashed';
  const limit = hashed ? Number.MAX_SAFE_INTEGER + 1 : spec.numEmbeddings;
  let total = 0;
  for (const list of lists) total += list.length;
  // One dedupe across every list, its tables reused from step to step.
  deduper.reset(total);
  const inverses: Int32Array[] = [];
  for (const list of lists) {
    const inverse = new Int32Array(list.length);
    // Integer arrays (every data reader's) need no integrality test.
    const integral = list instanceof Int32Array || list instanceof Uint32Array;
    for (let p = 0; p < list.length; p++) {
      const id = list[p];
      if (!integral && !Number.isInteger(id)) throw indexNotInteger(spec.name, p, id);
      if (id < 0 || id >= limit) throw indexOutOfRange(spec.name, p, id, spec.numEmbeddings);
      inverse[p] = deduper.indexOf(id);
    }
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
    owner[u] = hashed ? shardOfHashed(id >>> 0, Math.floor(id / 4294967296), numShards) : shardOfDense(id, numShards);
    counts[owner[u]]++;
  }
  const shardStart = new Int32Array(numShards + 1);
  for (let s = 0; s < numShards; s++) shardStart[s + 1] = shardStart[s] + counts[s];
  const fill = shardStart.slice(0, numShards);
  const ids = hashed ? new BigUint64Array(distinct) : new Uint32Array(distinct);
  // A hashed id goes in as its two 32-bit halves (little-endian), not through a BigInt per id.
  const words = hashed ? new Uint32Array(ids.buffer) : (ids as Uint32Array);
  for (let u = 0; u < distinct; u++) {
    const at = fill[owner[u]]++;
    position[u] = at;
    const id = unique[u];
    if (hashed) {
      words[2 * at] = id >>> 0;
      words[2 * at + 1] = Math.floor(id / 4294967296);
    } else words[at] = id;
  }
  const rowOfList = new Map<ArrayLike<number>, Int32Array>();
  lists.forEach((list, i) => {
    const inverse = inverses[i];
    for (let p = 0; p < inverse.length; p++) inverse[p] = position[inverse[p]];
    rowOfList.set(list, inverse);
  });
  return new TableRouting(spec, ids, shardStart, rowOfList);
}
