import {
  copyRow,
  ErrorCodes,
  idHalves,
  type LoadPart,
  type PsStats,
  type PsTableConfig,
  type PullPart,
  type PushPart,
  partSize,
  RowshardError,
  type SizedPart,
  type SparseStepContext,
  shardOfDense,
  shardOfHashed,
  sparseRowOptimizer,
  unknownTable,
} from '@rowshard/core';
import { KernelMemory, sizeClass } from '@rowshard/kernels';
import { checkPoolable, checkPooledPush, isPooled, type PooledPart, pooledSums, rowsOfPooledPush } from './pooled-rows.js';
import { checkFinite, checkGrads, checkIds } from './request-checks.js';
import { applyPush, type GradientPart, gatherRows } from './row-kernels.js';
import { RowStore } from './row-store.js';
import { UpdateUndo } from './update-undo.js';

export interface PsServiceOptions {
  readonly shard: number;
  readonly numShards: number;
  readonly seed: number;
  readonly tables: readonly PsTableConfig[];
}

/** A shard's table state; the server adds its request and error counts to make PsStats. */
export type PsTableStats = Omit<PsStats, 'requests' | 'errors'>;

interface Table {
  readonly store: RowStore;
  frozen: boolean;
}

/**
 * A shard's table state, without the network or the step protocol: validate every part of a
 * request first (so a bad one changes nothing), then pull rows (renormalising with max_norm in
 * place, as PyTorch) or apply sparse gradients with the table's optimizer at the lr and step
 * the request carries. PsNode decides when; this decides what. Several can live in one
 * process for tests.
 */
export class PsService {
  readonly shard: number;
  readonly numShards: number;
  readonly seed: number;
  /** The shard's WebAssembly memory: every table's rows and optimizer state, and scratch. */
  readonly memory = new KernelMemory();
  /** Reply buffers of rows, by size, reused once their reply is sent (no garbage per pull). */
  private readonly rowBuffers = new Map<number, Float32Array[]>();
  private readonly tables = new Map<string, Table>();
  private rowsPulled = 0;
  private bagsPulled = 0;
  /**
   * Pushes of rows made from pooled parts (rowsOfPush), whose ids and values are checked
   * already, each with the pooled row buffers its ids and values are in (given back once its
   * BSP step is applied; a push never applied leaves them to the collector).
   */
  private readonly rowsOfPooled = new WeakMap<GradientPart, Float32Array[]>();
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
      const store = new RowStore(t.spec, optimizer, options.seed, this.shard, this.numShards, this.memory);
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
      t.store.release();
      const store = new RowStore(t.store.spec, t.store.optimizer, this.seed, this.shard, this.numShards, this.memory);
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

  /** Each part's ids and the floats per id it moves (weights; a load's optimizer state too; a pooled part's per bag). */
  sizesOf(parts: readonly (PullPart | LoadPart)[]): SizedPart[] {
    return parts.map((part) => {
      const store = this.table(part.table);
      if ('rows' in part) return { ids: part.ids, floatsPerRow: store.dim + (part.state ? store.stateFloats : 0) };
      return partSize(part, store.dim);
    });
  }

  /** Checks a pull (tables, ids, shard) without reading anything. */
  checkPull(parts: readonly PullPart[]): void {
    for (const part of parts) {
      const store = this.table(part.table);
      if (isPooled(part)) checkPoolable(store, part);
      checkIds(store.spec, part.ids, this.shard, this.numShards);
    }
  }

  /**
   * A push's pooled parts as pushes of their rows (pooled-rows.ts), the others as they are:
   * what the BSP aggregator takes, merging the ranks' rows. (push() takes pooled parts as they
   * are, and applyPush sums their rows in the shard's memory.) Each pooled part is checked
   * first (table, ids, bags, shape), so a bad one is refused before anything is applied.
   */
  rowsOfPush(parts: readonly PushPart[]): PushPart[] {
    if (!parts.some((p) => isPooled(p))) return [...parts];
    for (const part of parts) if (isPooled(part)) this.checkPooledPart(this.table(part.table), part);
    return parts.map((part) => {
      if (!isPooled(part)) return part;
      const loan: Float32Array[] = [];
      const rows = rowsOfPooledPush(this.table(part.table), part, (floats) => {
        const buffer = this.takeRowBuffer(floats);
        loan.push(buffer);
        return buffer;
      });
      this.rowsOfPooled.set(rows, loan);
      return rows;
    });
  }

  /** Rows for every part, in request order; all parts are checked before any row is read. */
  pull(parts: readonly PullPart[]): Float32Array[] {
    this.checkPull(parts);
    return this.pullChecked(parts);
  }

  /**
   * pull() for parts checkPull() has passed. With `loan`, the rows go into pooled buffers,
   * listed in `loan`, which the caller gives back with returnRows() once they are sent.
   */
  pullChecked(parts: readonly PullPart[], loan: Float32Array[] | null = null): Float32Array[] {
    return parts.map((part) => {
      const store = this.table(part.table);
      const pooled = isPooled(part);
      const buffer = loan ? this.takeRowBuffer((pooled ? part.bagCount : part.ids.length) * store.dim) : null;
      if (buffer) loan?.push(buffer);
      const out = pooled ? pooledSums(store, part, buffer) : gatherRows(store, part.ids, buffer);
      this.rowsPulled += part.ids.length;
      if (pooled) this.bagsPulled += part.bagCount;
      return out;
    });
  }

  private takeRowBuffer(floats: number): Float32Array {
    const size = Math.max(1024, sizeClass(4 * floats) / 4);
    return this.rowBuffers.get(size)?.pop() ?? new Float32Array(size);
  }

  /** Gives pooled row buffers back (their rows have been encoded into a reply). */
  returnRows(loan: readonly Float32Array[]): void {
    for (const buffer of loan) {
      const list = this.rowBuffers.get(buffer.length) ?? [];
      // 16 of a size, but no more than 32 MiB of one size: a burst of huge pulls is not kept.
      if (list.length < Math.min(16, Math.floor((32 << 20) / buffer.byteLength))) list.push(buffer);
      this.rowBuffers.set(buffer.length, list);
    }
  }

  /** Applies every part; all parts are checked before any row changes. */
  push(parts: readonly PushPart[]): number {
    this.checkPush(parts);
    return this.pushChecked(parts);
  }

  /**
   * A BSP step: each table's parts from every rank, in rank order, applied as one optimizer
   * step per table; the parts have passed checkPush().
   */
  pushStep(byTable: ReadonlyMap<string, { parts: GradientPart[]; lr: number; step: number }>, globalStep?: number): number {
    const updates = [...byTable].map(([table, { parts, lr, step }]) => ({ table, parts, ctx: { lr, step } }));
    if (globalStep !== undefined) for (const t of this.tables.values()) if (t.store.dynamic) t.store.clock = globalStep;
    let updated: number;
    try {
      updated = this.applyAll(updates);
    } finally {
      // The rows made from pooled parts are in the shard's memory now (or refused): their buffers go back.
      for (const u of updates)
        for (const part of u.parts) {
          const loan = this.rowsOfPooled.get(part);
          if (!loan) continue;
          this.rowsOfPooled.delete(part);
          this.returnRows(loan);
        }
    }
    // The step's boundary: every dynamic table evicts, whether or not this step touched it.
    if (globalStep !== undefined) this.endStep(globalStep);
    return updated;
  }

  /** The end of step `step` for every hashed table whose rows come and go (eviction; the admission clock). */
  endStep(step: number): void {
    for (const t of this.tables.values()) if (t.store.dynamic) t.store.endStep(step);
  }

  /** Restore: the clock of every dynamic table continues from the checkpoint's step. */
  setClock(step: number): void {
    for (const t of this.tables.values()) t.store.clock = step;
  }

  /**
   * push() for parts checkPush() has passed. Without a BSP step (ASP, SSP), each push applied is
   * a step of the dynamic tables' clock: eviction and TTL count pushes.
   */
  pushChecked(parts: readonly PushPart[]): number {
    const updated = this.applyAll(parts.map((p) => ({ table: p.table, parts: [p], ctx: { lr: p.lr, step: p.step } })));
    for (const t of this.tables.values()) if (t.store.dynamic) t.store.endStep(t.store.clock);
    return updated;
  }

  /**
   * Applies every update, or none: should one leave a row or an optimizer slot non-finite,
   * every row the request touched is put back and the request is refused (E_BAD_GRADIENT).
   */
  private applyAll(updates: readonly { table: string; parts: readonly GradientPart[]; ctx: SparseStepContext }[]): number {
    const undo = new UpdateUndo();
    let updated = 0;
    let pushed = 0;
    // Admissions and last-update stamps wait for the whole request: a refused one changes no sketch or row.
    const after: (() => void)[] = [];
    try {
      for (const u of updates) {
        const rows = applyPush(this.table(u.table), u.parts, u.ctx, undo, after);
        updated += rows;
        // A pooled part (alone in its update: pushChecked) counts its distinct rows, as the rows rowsOfPush makes of it would.
        for (const p of u.parts) pushed += p.bags ? rows : p.ids.length;
      }
    } catch (e) {
      undo.rollback();
      throw e;
    } finally {
      undo.release();
    }
    for (const fn of after) fn();
    this.rowsPushed += pushed;
    return updated;
  }

  /** A pooled push part's table, ids, bags and gradients, checked before any part is used. */
  private checkPooledPart(store: RowStore, part: PooledPart<PushPart>): void {
    checkPoolable(store, part);
    checkIds(store.spec, part.ids, this.shard, this.numShards);
    checkPooledPush(store, part);
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
      // A pooled part is applied from its bags' gradients (applyPush); its rows' sums are checked there.
      if (isPooled(part)) {
        this.checkPooledPart(t.store, part);
        continue;
      }
      // A pooled part's rows were made from ids and gradients checked then (rowsOfPush).
      if (this.rowsOfPooled.has(part)) continue;
      checkIds(t.store.spec, part.ids, this.shard, this.numShards);
      checkGrads(t.store.spec, part.ids, part.grads, this.memory);
    }
  }

  /**
   * Refuses a `load` request holding a non-finite value, before load() checks the rest. Only
   * for requests: a checkpoint this shard wrote is restored as it was saved (its sha256 was
   * checked), and refusing it would leave recovery retrying forever.
   */
  checkLoadValues(parts: readonly LoadPart[]): void {
    for (const part of parts) {
      const store = this.table(part.table);
      // A part of the wrong shape is left to load(), which names it.
      if (part.rows.length === part.ids.length * store.dim)
        checkFinite(store.spec, part.ids, part.rows, store.dim, 'the values', this.memory);
      if (part.state && store.stateFloats > 0 && part.state.length === part.ids.length * store.stateFloats)
        checkFinite(store.spec, part.ids, part.state, store.stateFloats, 'the optimizer state', this.memory);
    }
  }

  /**
   * Sets rows (and optionally their optimizer state) outright: initial weights of a
   * from_pretrained table or a parity run, and checkpoint restore. Checked whole first.
   */
  load(parts: readonly LoadPart[]): number {
    this.checkLoad(parts);
    return this.loadChecked(parts);
  }

  /** Checks a load (tables, ids, shapes) without changing anything. */
  checkLoad(parts: readonly LoadPart[]): void {
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
  }

  /** load() for parts checkLoad() has passed. */
  loadChecked(parts: readonly LoadPart[]): number {
    let n = 0;
    for (const part of parts) {
      const store = this.table(part.table);
      const halves = idHalves(part.ids);
      for (let i = 0; i < part.ids.length; i++) {
        const slot = store.slotOf(halves[2 * i], halves[2 * i + 1]);
        copyRow(part.rows, i * store.dim, store.heap, store.weightOffset(slot), store.dim);
        if (part.state) copyRow(part.state, i * store.stateFloats, store.heap, store.stateOffset(slot), store.stateFloats);
      }
      n += part.ids.length;
    }
    return n;
  }

  stats(): PsTableStats {
    const tables: PsTableStats['tables'] = {};
    let rows = 0;
    let bytes = 0;
    for (const [name, t] of this.tables) {
      tables[name] = {
        rowsMaterialised: t.store.rowsMaterialised,
        bytesUsed: t.store.bytesUsed,
        frozen: t.frozen,
        ...(t.store.dynamic ? { dynamic: { ...t.store.counts } } : {}),
      };
      rows += t.store.rowsMaterialised;
      bytes += t.store.bytesUsed;
    }
    return {
      shard: this.shard,
      numShards: this.numShards,
      tables,
      rowsMaterialised: rows,
      bytesUsed: bytes,
      rowsPulled: this.rowsPulled,
      bagsPulled: this.bagsPulled,
      rowsPushed: this.rowsPushed,
    };
  }
}
