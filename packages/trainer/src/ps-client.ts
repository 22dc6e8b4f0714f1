import {
  copyRow,
  defaultRequestLimits,
  ErrorCodes,
  type IdArray,
  type PsProtocol,
  type PsStats,
  type PullPart,
  type PushPart,
  partSize,
  psProtocol,
  type RequestLimits,
  RowshardError,
  type SizedPart,
  sliceIds,
  splitRequest,
  type TableSpec,
  unknownTable,
} from '@rowshard/core';
import { parseTransportOptions, RpcClient, type TransportOptions } from '@rowshard/transport';
import { routeIds, sumDuplicateRows } from './id-routing.js';
import type { PullPlan } from './pull-plan.js';

export interface PsClientOptions {
  /** One WebSocket URL per shard, in shard order. */
  readonly shardUrls: readonly string[];
  /** A trainer credential (roleCredential(token, 'trainer')); null where the shards have no token. */
  readonly token: string | null;
  readonly tables: readonly TableSpec[];
  readonly transport?: Partial<TransportOptions>;
  /** The shards' per-request limits: bigger pulls and pushes are sent in several requests. */
  readonly limits?: RequestLimits;
}

/** Ids of any shape: a plain or typed array of numbers (dense tables) or a BigUint64Array (hashed). */
export type Ids = ArrayLike<number> | BigUint64Array;

export interface PullRequestPart {
  readonly table: string;
  readonly ids: Ids;
}

export interface PushRequestPart {
  readonly table: string;
  readonly ids: Ids;
  /** [ids.length · dim] gradient rows, duplicates allowed (they are summed here). */
  readonly grads: Float32Array;
  readonly lr: number;
  readonly step: number;
}

/**
 * The trainer's view of the parameter servers. `pull` takes ids of any shape and returns rows
 * in request order, fetching each distinct row once; `push` sums duplicate ids before
 * sending. `pullMany`/`pushMany` send one message per shard for all tables of a step, and
 * the shards are asked in parallel.
 */
export class PsClient {
  private readonly clients: RpcClient<PsProtocol>[];
  private readonly specs = new Map<string, TableSpec>();
  private readonly limits: RequestLimits;
  /** The job's epoch this client works in; shards refuse requests from older epochs. */
  epoch: number | null = null;

  constructor(options: PsClientOptions) {
    if (options.shardUrls.length === 0) throw new RowshardError(ErrorCodes.BAD_CONFIG, 'PsClient needs at least one shard URL');
    this.clients = options.shardUrls.map(
      (url, shard) =>
        new RpcClient({
          url,
          token: options.token,
          protocol: psProtocol,
          transport: options.transport,
          peerName: `ps ${shard} (${url})`,
          // A shard gone longer than the heartbeat's limit was killed or stalled: join the recovery.
          reconnectWaitMs: 2 * parseTransportOptions(options.transport ?? {}).heartbeatIntervalMs,
        }),
    );
    for (const t of options.tables) this.specs.set(t.name, t);
    this.limits = options.limits ?? defaultRequestLimits;
  }

  get numShards(): number {
    return this.clients.length;
  }

  async connect(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.connect()));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }

  spec(table: string): TableSpec {
    const s = this.specs.get(table);
    if (!s) throw unknownTable(table, [...this.specs.keys()]);
    return s;
  }

  /** Rows for ids of any shape, in request order: Float32Array [ids.length · dim]. */
  async pull(table: string, ids: Ids): Promise<Float32Array> {
    const [rows] = await this.pullMany([{ table, ids }]);
    return rows;
  }

  /**
   * Several tables in one message per shard; one Float32Array per part, in request order.
   * `step` (BSP) asks each shard to answer only once the previous step has been applied.
   */
  async pullMany(parts: readonly PullRequestPart[], options: { step?: number } = {}): Promise<Float32Array[]> {
    const routed = parts.map((p) => routeIds(this.spec(p.table), p.ids, this.numShards));
    const distinctRows: (Float32Array | null)[] = routed.map(() => null);
    await Promise.all(
      this.clients.map(async (_client, shard) => {
        const sent = routed.map((r, i) => ({ r, i, part: r.perShard[shard] })).filter((x) => x.part.ids.length > 0);
        if (sent.length === 0) return;
        const tables = sent.map((x) => ({ table: parts[x.i].table, ids: x.part.ids }));
        const rows = await this.pullFrom(shard, tables, options.step);
        sent.forEach((x, k) => {
          const dim = x.r.spec.embeddingDim;
          const got = rows[k];
          if (got === undefined || got.length !== x.part.ids.length * dim) {
            throw new RowshardError(
              ErrorCodes.BAD_REPLY,
              `ps ${shard} answered ${got?.length ?? 0} values for ${x.part.ids.length} rows of '${x.r.spec.name}'`,
            );
          }
          if (x.part.ids.length === x.r.distinct) {
            distinctRows[x.i] = got; // one shard held every row, in distinct order
            return;
          }
          const dst = (distinctRows[x.i] ??= new Float32Array(x.r.distinct * dim));
          const index = x.part.distinctIndex;
          for (let j = 0; j < index.length; j++) copyRow(got, j * dim, dst, index[j] * dim, dim);
        });
      }),
    );
    return routed.map((r, i) => {
      const dim = r.spec.embeddingDim;
      const src = distinctRows[i] ?? new Float32Array(0);
      if (r.inverse.length === r.distinct) return src; // no duplicates: distinct order is request order
      const out = new Float32Array(r.inverse.length * dim);
      for (let p = 0; p < r.inverse.length; p++) copyRow(src, r.inverse[p] * dim, out, p * dim, dim);
      return out;
    });
  }

  /** Pushes one table's sparse gradient (duplicates summed here first). */
  async push(table: string, ids: Ids, grads: Float32Array, opts: { lr: number; step: number }): Promise<void> {
    await this.pushMany([{ table, ids, grads, lr: opts.lr, step: opts.step }]);
  }

  /**
   * Several tables' gradients in one message per shard. With `barrier` (BSP) every shard gets
   * a message, empty or not, tagged with the step and the worker's rank: a shard applies a
   * step once it has heard from every rank.
   */
  async pushMany(parts: readonly PushRequestPart[], barrier: { step: number; rank: number } | null = null): Promise<void> {
    const perShard: PushPart[][] = this.clients.map(() => []);
    for (const part of parts) {
      const r = routeIds(this.spec(part.table), part.ids, this.numShards);
      const dim = r.spec.embeddingDim;
      if (part.grads.length !== part.ids.length * dim) {
        throw new RowshardError(
          ErrorCodes.BAD_SHAPE,
          `table '${part.table}': gradient has ${part.grads.length} values; ${part.ids.length} ids × dim ${dim} need ${part.ids.length * dim}`,
          { table: part.table },
        );
      }
      const summed = sumDuplicateRows(r.inverse, r.distinct, part.grads, dim);
      r.perShard.forEach((s, shard) => {
        if (s.ids.length === 0) return;
        let grads = summed;
        if (s.ids.length !== r.distinct) {
          grads = new Float32Array(s.ids.length * dim);
          for (let j = 0; j < s.distinctIndex.length; j++) copyRow(summed, s.distinctIndex[j] * dim, grads, j * dim, dim);
        }
        perShard[shard].push({ table: part.table, ids: s.ids, grads, lr: part.lr, step: part.step });
      });
    }
    await Promise.all(
      this.clients.map((_, shard) => (barrier || perShard[shard].length ? this.pushTo(shard, perShard[shard], barrier) : null)),
    );
  }

  /**
   * A step's pull, one request per shard for all tables (tagged with `step` in BSP, and with
   * the pulling worker's `rank` for a training step): each plan says what to ask each shard
   * for and takes the replies.
   */
  async pullPlanned(plans: readonly PullPlan[], step?: number, rank?: number): Promise<void> {
    await Promise.all(
      this.clients.map(async (_, shard) => {
        const asked = this.asks(plans, shard);
        if (asked.length === 0) return;
        const rows = await this.pullFrom(
          shard,
          asked.map((a) => a.part),
          step,
          rank,
        );
        this.place(asked, rows, shard);
      }),
    );
  }

  /**
   * A step's push, each shard getting its slice of every table's gradient matrix (every shard
   * gets a message, empty or not: BSP counts ranks, and a checkpoint waits on every rank's
   * pushes), and with `next` the following step's pull in the same round trip.
   */
  async pushPlanned(
    parts: readonly RoutedGradient[],
    barrier: { step: number; rank: number },
    next: readonly PullPlan[] | null,
  ): Promise<void> {
    const epoch = this.epoch === null ? {} : { epoch: this.epoch };
    await Promise.all(
      this.clients.map(async (client, shard) => {
        const push: PushPart[] = [];
        for (const part of parts) {
          const slice = part.shardSlice(shard);
          if (slice) push.push({ table: part.table, ...slice, lr: part.lr, step: part.step });
        }
        if (!next) {
          await this.pushTo(shard, push, barrier);
          return;
        }
        const asked = this.asks(next, shard);
        const pull = asked.map((a) => a.part);
        if (!this.fitsOneRequest([...push, ...pull])) {
          // Too big for one round trip: the push in pieces, then the next step's rows (in BSP
          // once this step is applied, as push_pull would answer).
          await this.pushTo(shard, push, barrier);
          this.place(asked, await this.pullFrom(shard, pull, barrier.step + 1, barrier.rank), shard);
          return;
        }
        const { rows } = await client.request('push_pull', {
          push,
          pull: asked.map((a) => a.part),
          step: barrier.step,
          rank: barrier.rank,
          ...epoch,
        });
        this.place(asked, rows, shard);
      }),
    );
  }

  private sizes(parts: readonly PullPart[]): SizedPart[] {
    return parts.map((p) => partSize(p, this.spec(p.table).embeddingDim));
  }

  private fitsOneRequest(parts: readonly PullPart[]): boolean {
    return splitRequest(this.sizes(parts), this.limits).length === 1;
  }

  /**
   * Shard `shard`'s rows for `parts` (tagged with `step` in BSP, and `rank` where given), one
   * Float32Array per part: one request, or as many as the request limits need, their replies
   * put together.
   */
  private async pullFrom(shard: number, parts: readonly PullPart[], step?: number, rank?: number): Promise<Float32Array[]> {
    const client = this.clients[shard];
    const tag = {
      ...(step === undefined ? {} : { step }),
      ...(step === undefined || rank === undefined ? {} : { rank }),
      ...(this.epoch === null ? {} : { epoch: this.epoch }),
    };
    const requests = splitRequest(this.sizes(parts), this.limits);
    if (requests.length === 1) return (await client.request('pull', { tables: [...parts], ...tag })).rows;
    const dims = parts.map((p) => this.spec(p.table).embeddingDim);
    // A pooled part's reply is a row per bag (it goes whole, as one piece).
    const rowsOf = (p: PullPart) => p.bagCount ?? p.ids.length;
    const out = parts.map((p, i) => new Float32Array(rowsOf(p) * dims[i]));
    await Promise.all(
      requests.map(async (pieces) => {
        const tables = pieces.map((pc) => pieceOf(parts[pc.part], pc.from, pc.to));
        const { rows } = await client.request('pull', { tables, ...tag });
        pieces.forEach((pc, k) => {
          const part = parts[pc.part];
          const want = (part.bagCount ?? pc.to - pc.from) * dims[pc.part];
          if (rows[k]?.length !== want) {
            throw new RowshardError(
              ErrorCodes.BAD_REPLY,
              `ps ${shard} answered ${rows[k]?.length ?? 0} values for ${want} asked`,
            );
          }
          out[pc.part].set(rows[k], pc.from * dims[pc.part]);
        });
      }),
    );
    return out;
  }

  /**
   * Sends shard `shard` a push (tagged with step and rank when `barrier` is given): one
   * request, or pieces within the request limits. Pieces of a tagged push carry `chunk`, so
   * the shard counts the rank's step once all are in; an untagged push is just several.
   */
  private async pushTo(shard: number, parts: readonly PushPart[], barrier: { step: number; rank: number } | null): Promise<void> {
    const client = this.clients[shard];
    const tag = barrier ? { step: barrier.step, rank: barrier.rank, ...(this.epoch === null ? {} : { epoch: this.epoch }) } : {};
    const requests = splitRequest(this.sizes(parts), this.limits);
    if (requests.length === 1) {
      await client.request('push', { tables: [...parts], ...tag });
      return;
    }
    await Promise.all(
      requests.map((pieces, index) => {
        const tables = pieces.map((pc) => {
          const p = parts[pc.part];
          if (p.bagCount !== undefined) return p; // a pooled part goes whole
          const dim = this.spec(p.table).embeddingDim;
          return { ...p, ids: sliceIds(p.ids, pc.from, pc.to), grads: p.grads.subarray(pc.from * dim, pc.to * dim) };
        });
        return client.request('push', { tables, ...tag, ...(barrier ? { chunk: { index, count: requests.length } } : {}) });
      }),
    );
  }

  /** The pull parts `plans` ask shard `shard` for. */
  private asks(plans: readonly PullPlan[], shard: number): { plan: PullPlan; part: PullPart }[] {
    const out: { plan: PullPlan; part: PullPart }[] = [];
    for (const plan of plans) {
      const part = plan.partFor(shard);
      if (part) out.push({ plan, part });
    }
    return out;
  }

  private place(asked: readonly { plan: PullPlan }[], rows: Float32Array[], shard: number): void {
    if (rows.length !== asked.length) {
      throw new RowshardError(ErrorCodes.BAD_REPLY, `ps ${shard} answered ${rows.length} row lists for ${asked.length} tables`);
    }
    asked.forEach((a, k) => a.plan.place(shard, rows[k]));
  }

  /** Each shard's statistics and its process's memoryUsage(), in shard order. */
  async stats(options: { gc?: boolean } = {}): Promise<(PsStats & { memory: NodeJS.MemoryUsage })[]> {
    return Promise.all(
      this.clients.map(async (c) => {
        const { stats, memory } = await c.request('stats', { gc: options.gc === true });
        return { ...stats, memory };
      }),
    );
  }
}

/** One table's gradient for a routed push: its shard slices, the lr and the table's optimizer step. */
export interface RoutedGradient {
  readonly table: string;
  readonly lr: number;
  readonly step: number;
  /** Shard `shard`'s ids and gradient rows (a pooled table: its positions, their bags, and every bag's gradient), or null when it has none. */
  shardSlice(shard: number): { ids: IdArray; grads: Float32Array; bags?: Int32Array; bagCount?: number } | null;
}

/** Ids [from, to) of a part cut to fit the request limits; a pooled part is never cut. */
function pieceOf(part: PullPart, from: number, to: number): PullPart {
  return part.bagCount !== undefined ? part : { table: part.table, ids: sliceIds(part.ids, from, to) };
}
