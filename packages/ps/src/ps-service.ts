import {
  coalesceRows,
  copyRow,
  dedupeIds,
  type Envelope,
  ErrorCodes,
  type IdArray,
  type PullPart,
  type PushPart,
  parsePullParts,
  parsePushParts,
  RowshardError,
  type SparseOptimizerConfig,
  shardOfDense,
  shardOfHashed,
  sparseRowOptimizer,
  type TableSpec,
  unknownTable,
} from '@rowshard/core';
import { checkGrads, checkIds, idHalves } from './request-checks.js';
import { RowStore } from './row-store.js';

export interface PsTableConfig {
  readonly spec: TableSpec;
  /** null for a table that is never trained (frozen from the start). */
  readonly optimizer: SparseOptimizerConfig | null;
}

/** Rows to set outright (and optionally their optimizer state). */
export interface LoadPart {
  readonly table: string;
  readonly ids: IdArray;
  readonly rows: Float32Array;
  readonly state?: Float32Array;
}

function parseLoadParts(value: unknown): LoadPart[] {
  return parsePullParts(value).map((p) => {
    const part = p as unknown as Record<string, unknown>;
    if (!(part.rows instanceof Float32Array))
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `load '${p.table}': rows must be a Float32Array`);
    if (part.state !== undefined && part.state !== null && !(part.state instanceof Float32Array)) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `load '${p.table}': state must be a Float32Array`);
    }
    return { table: p.table, ids: p.ids, rows: part.rows, ...(part.state ? { state: part.state as Float32Array } : {}) };
  });
}

export interface PsServiceOptions {
  readonly shard: number;
  readonly numShards: number;
  readonly seed: number;
  readonly tables: readonly PsTableConfig[];
}

export interface PsStats {
  readonly shard: number;
  readonly numShards: number;
  readonly tables: Record<string, { rowsMaterialised: number; bytesUsed: number; frozen: boolean }>;
  readonly rowsMaterialised: number;
  readonly bytesUsed: number;
  readonly requests: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly rowsPulled: number;
  readonly rowsPushed: number;
}

interface Table {
  readonly store: RowStore;
  frozen: boolean;
}

/**
 * What a parameter server does with requests, without the network: validate every part of a
 * request first (so a bad one changes nothing), then pull rows (renormalising with max_norm in
 * place, as PyTorch) or apply sparse gradients with the table's optimizer at the lr and step
 * the request carries. One instance per shard; several can live in one process for tests.
 */
export class PsService {
  readonly shard: number;
  readonly numShards: number;
  readonly seed: number;
  private readonly tables = new Map<string, Table>();
  private readonly requestCounts: Record<string, number> = {};
  private readonly errorCounts: Record<string, number> = {};
  private rowsPulled = 0;
  private rowsPushed = 0;

  constructor(options: PsServiceOptions) {
    if (!Number.isInteger(options.numShards) || options.numShards < 1) {
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `numShards must be a positive integer, got ${options.numShards}`);
    }
    if (!Number.isInteger(options.shard) || options.shard < 0 || options.shard >= options.numShards) {
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `shard must be in [0, ${options.numShards}), got ${options.shard}`);
    }
    this.shard = options.shard;
    this.numShards = options.numShards;
    this.seed = options.seed;
    for (const t of options.tables) {
      const optimizer = t.optimizer ? sparseRowOptimizer(t.optimizer, t.spec.embeddingDim) : null;
      const store = new RowStore(t.spec, optimizer, options.seed, this.shard, this.numShards);
      this.tables.set(t.spec.name, { store, frozen: t.spec.frozen || optimizer === null });
    }
  }

  tableNames(): string[] {
    return [...this.tables.keys()];
  }

  hasTable(name: string): boolean {
    return this.tables.has(name);
  }

  /** Drops every row (restore starts from a clean slate); frozen flags are kept. */
  resetTables(): void {
    for (const [name, t] of this.tables) {
      const store = new RowStore(t.store.spec, t.store.optimizer, this.seed, this.shard, this.numShards);
      this.tables.set(name, { store, frozen: t.frozen });
    }
  }

  /** Positions in `ids` of the rows this shard owns under the current shard count. */
  ownedPositions(table: string, ids: Float64Array | BigUint64Array): number[] {
    const spec = this.table(table).spec;
    const halves = idHalves(ids);
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const owner =
        spec.kind === 'hashed'
          ? shardOfHashed(halves[2 * i], halves[2 * i + 1], this.numShards)
          : shardOfDense(Number(ids[i]), this.numShards);
      if (owner === this.shard) out.push(i);
    }
    return out;
  }

  table(name: string): RowStore {
    const t = this.tables.get(name);
    if (!t) throw unknownTable(name, [...this.tables.keys()]);
    return t.store;
  }

  setFrozen(name: string, frozen: boolean): void {
    const t = this.tables.get(name);
    if (!t) throw unknownTable(name, [...this.tables.keys()]);
    if (!frozen && !t.store.optimizer) {
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `table '${name}' has no optimizer and cannot be unfrozen`, { table: name });
    }
    t.frozen = frozen;
  }

  /** Dispatches one decoded request; returns the result body. */
  handle(request: Envelope): Record<string, unknown> {
    switch (request.type) {
      case 'pull':
        return { rows: this.pull(parsePullParts(request.tables)) };
      case 'push':
        return { rowsUpdated: this.push(parsePushParts(request.tables)) };
      case 'push_pull': {
        const push = parsePushParts(request.push, 'push');
        const pull = parsePullParts(request.pull, 'pull');
        this.checkPull(pull);
        const rowsUpdated = this.push(push);
        return { rowsUpdated, rows: this.pull(pull) };
      }
      case 'load':
        return { rowsLoaded: this.load(parseLoadParts(request.tables)) };
      case 'stats':
        this.count('stats');
        return { stats: this.stats() };
      case 'ping':
        return {};
      default:
        throw new RowshardError(ErrorCodes.BAD_REQUEST, `unknown request type '${request.type}'`);
    }
  }

  private checkPull(parts: readonly PullPart[]): void {
    for (const part of parts) checkIds(this.table(part.table).spec, part.ids, this.shard, this.numShards);
  }

  /** Rows for every part, in request order; all parts are checked before any row is read. */
  pull(parts: readonly PullPart[]): Float32Array[] {
    this.count('pull');
    this.checkPull(parts);
    return parts.map((part) => {
      const store = this.table(part.table);
      const out = new Float32Array(part.ids.length * store.dim);
      gatherRows(store, part.ids, out);
      this.rowsPulled += part.ids.length;
      return out;
    });
  }

  /** Applies every part; all parts are checked before any row changes. */
  push(parts: readonly PushPart[]): number {
    this.count('push');
    this.checkPush(parts);
    let updated = 0;
    for (const part of parts) {
      updated += applyPush(this.table(part.table), part);
      this.rowsPushed += part.ids.length;
    }
    return updated;
  }

  /** Checks a push (tables, frozen, ids, gradients) without changing anything. */
  checkPush(parts: readonly PushPart[]): void {
    for (const part of parts) {
      const t = this.tables.get(part.table);
      if (!t) throw unknownTable(part.table, [...this.tables.keys()]);
      if (t.frozen) {
        throw new RowshardError(ErrorCodes.FROZEN_TABLE, `table '${part.table}' is frozen and takes no gradients`, {
          table: part.table,
        });
      }
      checkIds(t.store.spec, part.ids, this.shard, this.numShards);
      checkGrads(t.store.spec, part.ids, part.grads);
    }
  }

  /**
   * Sets rows (and optionally their optimizer state) outright: initial weights of a
   * from_pretrained table or a parity run, and checkpoint restore. Checked whole first.
   */
  load(parts: readonly LoadPart[]): number {
    for (const part of parts) {
      const store = this.table(part.table);
      checkIds(store.spec, part.ids, this.shard, this.numShards);
      if (part.rows.length !== part.ids.length * store.dim) {
        throw new RowshardError(
          ErrorCodes.BAD_SHAPE,
          `load '${part.table}': ${part.rows.length} values for ${part.ids.length} rows of dim ${store.dim}`,
        );
      }
      if (part.state && part.state.length !== part.ids.length * store.stateFloats) {
        throw new RowshardError(
          ErrorCodes.BAD_SHAPE,
          `load '${part.table}': optimizer state has ${part.state.length} values, need ${part.ids.length * store.stateFloats}`,
        );
      }
    }
    let n = 0;
    for (const part of parts) {
      const store = this.table(part.table);
      const halves = idHalves(part.ids);
      for (let i = 0; i < part.ids.length; i++) {
        const slot = store.slotOf(halves[2 * i], halves[2 * i + 1]);
        copyRow(part.rows, i * store.dim, store.weightPage(slot), store.weightOffset(slot), store.dim);
        if (part.state)
          copyRow(part.state, i * store.stateFloats, store.statePage(slot), store.stateOffset(slot), store.stateFloats);
      }
      n += part.ids.length;
    }
    return n;
  }

  /** Counts a refused request by its error code (stats, /metrics). */
  noteError(e: unknown): void {
    const code = e instanceof RowshardError ? e.code : ErrorCodes.INTERNAL;
    this.errorCounts[code] = (this.errorCounts[code] ?? 0) + 1;
  }

  private count(type: string): void {
    this.requestCounts[type] = (this.requestCounts[type] ?? 0) + 1;
  }

  stats(): PsStats {
    const tables: PsStats['tables'] = {};
    let rows = 0;
    let bytes = 0;
    for (const [name, t] of this.tables) {
      tables[name] = { rowsMaterialised: t.store.rowsMaterialised, bytesUsed: t.store.bytesUsed, frozen: t.frozen };
      rows += t.store.rowsMaterialised;
      bytes += t.store.bytesUsed;
    }
    return {
      shard: this.shard,
      numShards: this.numShards,
      tables,
      rowsMaterialised: rows,
      bytesUsed: bytes,
      requests: { ...this.requestCounts },
      errors: { ...this.errorCounts },
      rowsPulled: this.rowsPulled,
      rowsPushed: this.rowsPushed,
    };
  }
}

/** Copies rows into out (request order), applying max_norm to the stored row first. */
function gatherRows(store: RowStore, ids: IdArray, out: Float32Array): void {
  const dim = store.dim;
  const { maxNorm, normType } = store.spec;
  const halves = store.spec.kind === 'hashed' ? idHalves(ids) : null;
  for (let i = 0; i < ids.length; i++) {
    const slot = halves ? store.slotOf(halves[2 * i], halves[2 * i + 1]) : store.slotOf(Number(ids[i]), 0);
    const page = store.weightPage(slot);
    const off = store.weightOffset(slot);
    if (maxNorm !== null) renorm(page, off, dim, maxNorm, normType);
    copyRow(page, off, out, i * dim, dim);
  }
}

/** torch.embedding_renorm_ on one stored row. */
function renorm(w: Float32Array, off: number, dim: number, maxNorm: number, normType: number): void {
  let norm = 0;
  if (normType === 2) {
    for (let d = 0; d < dim; d++) norm += w[off + d] * w[off + d];
    norm = Math.sqrt(norm);
  } else {
    for (let d = 0; d < dim; d++) norm += Math.abs(w[off + d]) ** normType;
    norm **= 1 / normType;
  }
  if (norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-7);
    for (let d = 0; d < dim; d++) w[off + d] *= scale;
  }
}

/**
 * Applies one part: ids become local slots (materialising rows), duplicates are summed per
 * slot in input order, and the optimizer runs once per distinct row. The padding row is
 * left out. A trainer's PsClient has already summed duplicates, so usually nothing is copied.
 */
function applyPush(store: RowStore, part: PushPart): number {
  const optimizer = store.optimizer;
  if (!optimizer) return 0;
  const dim = store.dim;
  const halves = store.spec.kind === 'hashed' ? idHalves(part.ids) : null;
  const padding = store.spec.kind === 'dense' ? store.spec.paddingIdx : null;
  const n = part.ids.length;
  const slots = new Float64Array(n);
  const keep = new Uint8Array(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (halves) slots[i] = store.slotOf(halves[2 * i], halves[2 * i + 1]);
    else {
      const row = Number(part.ids[i]);
      if (row === padding) continue; // the padding row never changes
      slots[i] = store.slotOf(row, 0);
    }
    keep[i] = 1;
    kept++;
  }
  const ctx = { lr: part.lr, step: part.step };
  const distinct = kept === n ? dedupeIds(slots).unique.length : -1;
  if (distinct === n) {
    for (let i = 0; i < n; i++) {
      const slot = slots[i];
      optimizer.updateRow(
        store.weightPage(slot),
        store.weightOffset(slot),
        store.statePage(slot),
        store.stateOffset(slot),
        part.grads,
        i * dim,
        ctx,
      );
    }
    return n;
  }
  const { ids: uniqueSlots, rows } = coalesceRows(slots, part.grads, dim, keep);
  for (let u = 0; u < uniqueSlots.length; u++) {
    const slot = uniqueSlots[u];
    optimizer.updateRow(
      store.weightPage(slot),
      store.weightOffset(slot),
      store.statePage(slot),
      store.stateOffset(slot),
      rows,
      u * dim,
      ctx,
    );
  }
  return uniqueSlots.length;
}
