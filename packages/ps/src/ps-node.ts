import { join } from 'node:path';
import {
  checkRequestSize,
  ErrorCodes,
  type PsConfig,
  type PsProtocol,
  type PullPart,
  type PushPart,
  type ReplyOf,
  type RequestOf,
  RowshardError,
  shardsMayPool,
} from '@rowshard/core';
import { afterEncode } from '@rowshard/transport';
import { BspAggregator } from './bsp-aggregator.js';
import { type CheckpointRoot, noCheckpointRoot } from './checkpoint-root.js';
import { PsService } from './ps-service.js';
import { AspPushPieces, BspPushPieces } from './push-chunks.js';
import { restoreShard, writeShardSnapshot } from './snapshot.js';

type Reply<K extends keyof PsProtocol> = ReplyOf<PsProtocol, K> | Promise<ReplyOf<PsProtocol, K>>;

/**
 * A reply carrying rows in pooled buffers, returned to the pool once the server has encoded
 * the reply (afterEncode): a steady stream of pulls allocates no row arrays.
 */
function rowsReply<T extends object>(service: PsService, parts: readonly PullPart[], rest: T): T & { rows: Float32Array[] } {
  const loan: Float32Array[] = [];
  const rows = service.pullChecked(parts, loan);
  return { ...rest, rows, [afterEncode]: () => service.returnRows(loan) };
}

/**
 * A shard under the job's step protocol: the epoch, BSP, at-most-once pushes, checkpoints and
 * restores. It decides when a request may touch the tables; PsService does the touching.
 * Until it is configured (a PS registering with a coordinator listens before it knows its
 * shard) every request gets E_SHARD_UNAVAILABLE.
 *
 * - BSP: pushes carry (step, rank) and go through the aggregator; pulls tagged with a step
 *   wait for the previous step to be applied.
 * - SSP/ASP: pushes apply on arrival; SSP's bound is kept by the coordinator's clock.
 * - A push with (step, rank) is applied at most once: a retry of a step that rank already
 *   pushed is answered `duplicate: true`. A checkpoint can wait until each rank has pushed
 *   a given number of steps.
 * - Requests tagged with an epoch older than this shard's (set at each restore) are refused
 *   with E_STALE_EPOCH: a worker that missed a restore cannot write into the restored state.
 */
export class PsNode {
  service: PsService | null = null;
  private aggregator: BspAggregator | null = null;
  config: PsConfig | null = null;
  epoch = 0;
  /** Steps each rank has pushed and had applied: its next push is for this step. */
  private pushedSteps: number[] = [];
  private readonly pushWaiters: { ready(): boolean; resolve(): void }[] = [];
  /** Pieces of split pushes (RequestLimits): applied on arrival in ASP, assembled in BSP. */
  private readonly aspPieces = new AspPushPieces();
  private bspPieces: BspPushPieces | null = null;
  /**
   * Settles when the snapshot being written is on disk (or failed). Meanwhile the rows are
   * copied chunk by chunk between asynchronous writes, so what would change them (pushes,
   * loads, restores) waits for it, in arrival order; pulls and heartbeats are answered.
   */
  private snapshotWrite: Promise<void> | null = null;

  /** `checkpointRoot`: where checkpoints may be read and written; null refuses every directory. */
  constructor(private readonly checkpointRoot: CheckpointRoot | null = null) {}

  /** The real path of a checkpoint directory a request names, refused unless under the root. */
  private checkpointDir(dir: string, message: string): string {
    if (!this.checkpointRoot) throw noCheckpointRoot(message, dir);
    return this.checkpointRoot.confine(dir, message);
  }

  configure(config: PsConfig): void {
    const reason = new RowshardError(ErrorCodes.SHARD_UNAVAILABLE, 'shard is being reconfigured');
    this.aggregator?.abort(reason);
    this.bspPieces?.abort(reason);
    this.aspPieces.clear();
    // Configured again (registered again with a coordinator): the state of this epoch is gone,
    // so its requests are refused as stale until the coordinator restores a newer one. (A
    // worker's push landed on the empty shard as E_BAD_REQUEST, and its trainer exited.)
    if (this.service) this.epoch++;
    this.config = config;
    this.service = new PsService(config);
    this.aggregator = config.sync.mode === 'bsp' ? new BspAggregator(this.service, config.workers, config.stepTimeoutMs) : null;
    this.bspPieces = this.aggregator ? new BspPushPieces(config.stepTimeoutMs) : null;
    this.pushedSteps = new Array(config.workers).fill(0);
  }

  /** Refuses a request carrying or asking for more rows than one request may (E_TOO_LARGE). */
  private checkSize(message: string, service: PsService, parts: readonly PullPart[], more?: readonly PullPart[]): void {
    const limits = this.config?.limits;
    if (!limits) return;
    // A push_pull's two lists count as one request. (Not flatMap over rest arguments: that was
    // 5% of a shard's CPU for a small request.)
    const sized = service.sizesOf(parts);
    if (more) for (const s of service.sizesOf(more)) sized.push(s);
    checkRequestSize(message, sized, limits);
  }

  /**
   * Refuses pooled parts where the job's sync mode does not pool (BSP on a shard count the id
   * tree does not split over, whose numbers must not depend on the shard count; sync.poolBags
   * false), and BSP's pooled pulls in position order: what keeps the promise is the shard,
   * not each client's good behaviour.
   */
  private checkPooling(message: string, pulls: readonly PullPart[], pushes: readonly PushPart[] = []): void {
    const config = this.config;
    if (!config) return;
    if (shardsMayPool(config.sync, config.numShards)) {
      if (config.sync.mode === 'bsp') checkIdTree(message, pulls);
      return;
    }
    for (const parts of [pulls, pushes]) {
      const pooled = parts.find((p) => p.bags !== undefined);
      if (!pooled) continue;
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `${message} '${pooled.table}': this job pulls and pushes rows, not bags (sync ${config.sync.mode} on ${config.numShards} shards${config.sync.poolBags === false ? ', poolBags false' : ''})`,
        { table: pooled.table, field: 'bags' },
      );
    }
  }

  /** The tables, for a request of epoch `epoch`: refused before configuration or from an old epoch. */
  private admit(epoch: number | undefined): PsService {
    const service = this.service;
    if (!service) throw new RowshardError(ErrorCodes.SHARD_UNAVAILABLE, 'this parameter server is not configured yet');
    if (epoch !== undefined && epoch < this.epoch) {
      throw new RowshardError(
        ErrorCodes.STALE_EPOCH,
        `request from epoch ${epoch}; this shard was restored into epoch ${this.epoch}`,
        { epoch, current: this.epoch },
      );
    }
    return service;
  }

  pull(request: RequestOf<PsProtocol, 'pull'>): Reply<'pull'> {
    const service = this.admit(request.epoch);
    this.checkSize('pull', service, request.tables);
    this.checkPooling('pull', request.tables);
    service.checkPull(request.tables);
    if (this.aggregator && request.step !== undefined) {
      const aggregator = this.aggregator;
      // A worker pulls step t once its push of step t - 1 came back, so t is at most one past
      // the applied steps; a later one would hold a waiter for nothing until its deadline.
      if (request.step > aggregator.appliedSteps + 1) {
        throw new RowshardError(
          ErrorCodes.BAD_REQUEST,
          `pull: step ${request.step} is ahead of this shard (step ${aggregator.appliedSteps} is next to apply)`,
          { field: 'step' },
        );
      }
      // The rows of step t are those before it is applied. A shard past it has none to give:
      // only the last checkpoint does (the worker's recovery), or the step would be computed
      // from rows it already changed.
      if (request.step < aggregator.appliedSteps) {
        throw new RowshardError(
          ErrorCodes.STALE_STEP,
          `pull: step ${request.step} is already applied on this shard (step ${aggregator.appliedSteps} is next); its rows are gone`,
          { step: request.step, applied: aggregator.appliedSteps },
        );
      }
      // A worker pulls step t after its push of step t - 1 is in, and a replacement of it
      // resumes past that push: where it never arrived (lost with the trainer that sent it,
      // whose dense step the coordinator had), step t - 1 cannot complete on this shard. Only
      // the last checkpoint can go on from here, so say so now rather than when the pull times out.
      const { step, rank } = request;
      if (rank !== undefined && step === aggregator.appliedSteps + 1 && !aggregator.pushed(step - 1, rank)) {
        throw new RowshardError(
          ErrorCodes.STALE_STEP,
          `pull: rank ${rank}'s push of step ${step - 1} never reached this shard, so that step cannot be applied here; only the last checkpoint goes on`,
          { step, rank, applied: aggregator.appliedSteps },
        );
      }
      return aggregator.whenApplied(step).then(() => rowsReply(service, request.tables, {}));
    }
    return rowsReply(service, request.tables, {});
  }

  push(request: RequestOf<PsProtocol, 'push'>): Reply<'push'> {
    if (this.snapshotWrite) return this.snapshotWrite.then(() => this.push(request));
    const service = this.admit(request.epoch);
    this.checkSize('push', service, request.tables);
    this.checkPooling('push', [], request.tables);
    return this.applyPush(service, { ...request, tables: this.pushable(service, request.tables) });
  }

  /**
   * A push's parts as this shard applies them: BSP's aggregator merges the ranks' rows, so a
   * pooled part becomes the push of its rows first (rowsOfPush); otherwise a pooled part is
   * applied from its bags' gradients as it came (applyPush), its rows summed in the shard's memory.
   */
  private pushable(service: PsService, parts: RequestOf<PsProtocol, 'push'>['tables']): RequestOf<PsProtocol, 'push'>['tables'] {
    return this.aggregator ? service.rowsOfPush(parts) : parts;
  }

  /** A push, then the rows of the next step's pull: one round trip per shard and step. */
  pushPull(request: RequestOf<PsProtocol, 'push_pull'>): Reply<'push_pull'> {
    if (this.snapshotWrite) return this.snapshotWrite.then(() => this.pushPull(request));
    const service = this.admit(request.epoch);
    this.checkSize('push_pull', service, request.push, request.pull);
    this.checkPooling('push_pull', request.pull, request.push);
    service.checkPull(request.pull);
    const pushed = this.applyPush(service, {
      tables: this.pushable(service, request.push),
      step: request.step,
      rank: request.rank,
    });
    const withRows = (reply: ReplyOf<PsProtocol, 'push'>) => rowsReply(service, request.pull, reply);
    if (pushed instanceof Promise) return pushed.then(withRows);
    return withRows(pushed);
  }

  private applyPush(service: PsService, request: RequestOf<PsProtocol, 'push'>): Reply<'push'> {
    const { step, rank, tables, chunk } = request;
    if ((step === undefined) !== (rank === undefined)) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, 'push: step and rank go together (give both or neither)', {
        field: step === undefined ? 'step' : 'rank',
      });
    }
    if (step === undefined || rank === undefined) {
      if (this.aggregator) throw new RowshardError(ErrorCodes.BAD_REQUEST, 'push: BSP pushes must carry step and rank');
      if (chunk) throw new RowshardError(ErrorCodes.BAD_REQUEST, 'push: a chunk needs step and rank', { field: 'chunk' });
      return { rowsUpdated: service.push(tables) };
    }
    if (rank >= this.pushedSteps.length) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `push: rank must be in [0, ${this.pushedSteps.length}), got ${rank}`, {
        field: 'rank',
      });
    }
    const aggregator = this.aggregator;
    if (aggregator) {
      const noted = (rowsUpdated: number) => {
        this.notePush(rank, step);
        return { rowsUpdated };
      };
      if (!chunk) return aggregator.push(step, rank, tables).then(noted);
      // Pieces of a step already applied, or not yet open, get the barrier's own answers.
      if (step !== aggregator.appliedSteps) return aggregator.push(step, rank, tables).then(noted);
      service.checkPush(tables);
      const pieces = this.bspPieces as BspPushPieces;
      return pieces.add(rank, step, chunk, tables, (all) => aggregator.push(step, rank, all, true)).then(noted);
    }
    if (step < this.pushedSteps[rank]) return { rowsUpdated: 0, duplicate: true };
    // A rank pushes its steps in order. Its push and its dense_step travel in parallel, so after
    // a trainer restart the coordinator may resume it one step past what this shard saw; never
    // more. A step beyond that would mark every step up to it as pushed, and the rank's real
    // pushes would then be dropped as duplicates.
    if (step > this.pushedSteps[rank] + 1) {
      throw new RowshardError(
        ErrorCodes.BAD_REQUEST,
        `push: step ${step} of rank ${rank} is ahead of this shard (its next is step ${this.pushedSteps[rank]})`,
        { field: 'step' },
      );
    }
    if (chunk && this.aspPieces.seen(rank, step, chunk)) return { rowsUpdated: 0, duplicate: true };
    const rowsUpdated = service.push(tables);
    if (!chunk || this.aspPieces.applied(rank, step, chunk)) this.notePush(rank, step);
    return { rowsUpdated };
  }

  load(request: RequestOf<PsProtocol, 'load'>): Reply<'load'> {
    if (this.snapshotWrite) return this.snapshotWrite.then(() => this.load(request));
    const service = this.admit(request.epoch);
    const limits = this.config?.limits;
    if (limits) checkRequestSize('load', service.sizesOf(request.tables), limits);
    service.checkLoadValues(request.tables);
    return { rowsLoaded: service.load(request.tables) };
  }

  private notePush(rank: number, step: number): void {
    this.pushedSteps[rank] = Math.max(this.pushedSteps[rank], step + 1);
    if (this.pushWaiters.length === 0) return;
    for (const w of [...this.pushWaiters]) {
      if (w.ready()) {
        this.pushWaiters.splice(this.pushWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /**
   * Writes this shard's snapshot once the state is at the requested boundary: in BSP, once
   * `step` steps are applied; otherwise once each rank r has pushed `pushedSteps[r]` steps.
   */
  async checkpoint(request: RequestOf<PsProtocol, 'checkpoint'>): Promise<ReplyOf<PsProtocol, 'checkpoint'>> {
    const service = this.admit(request.epoch);
    const { step, pushedSteps } = request;
    const dir = this.checkpointDir(request.dir, 'checkpoint');
    if (this.aggregator) await this.aggregator.whenApplied(step);
    else if (pushedSteps) {
      if (pushedSteps.length !== this.pushedSteps.length) {
        throw new RowshardError(
          ErrorCodes.BAD_REQUEST,
          `checkpoint: pushedSteps lists ${pushedSteps.length} ranks; the job has ${this.pushedSteps.length}`,
          { field: 'pushedSteps' },
        );
      }
      const ready = () => pushedSteps.every((s, rank) => this.pushedSteps[rank] >= s);
      if (!ready()) await new Promise<void>((resolve) => this.pushWaiters.push({ ready, resolve }));
    }
    while (this.snapshotWrite) await this.snapshotWrite;
    // A restore (or a registration again) may have come while this waited: the state is then
    // another epoch's, and written under this step it would make a checkpoint of mixed steps.
    if (this.admit(request.epoch) !== service) {
      throw new RowshardError(ErrorCodes.STALE_EPOCH, `checkpoint of step ${step}: this shard was reset while it waited`);
    }
    if (this.aggregator && this.aggregator.appliedSteps !== step) {
      throw new RowshardError(
        ErrorCodes.STALE_STEP,
        `checkpoint of step ${step}: this shard is at step ${this.aggregator.appliedSteps}`,
        { step, applied: this.aggregator.appliedSteps },
      );
    }
    const written = writeShardSnapshot(service, join(dir, `shard-${service.shard}.safetensors`), step);
    const settled = written.then(
      () => {},
      () => {},
    );
    this.snapshotWrite = settled;
    try {
      return { info: await written };
    } finally {
      if (this.snapshotWrite === settled) this.snapshotWrite = null;
    }
  }

  /** Loads the rows this shard owns from a checkpoint and continues from its step, in a new epoch. */
  restore(request: RequestOf<PsProtocol, 'restore'>): Reply<'restore'> {
    if (this.snapshotWrite) return this.snapshotWrite.then(() => this.restore(request));
    const { dir, manifest, epoch } = request;
    const service = this.admit(epoch);
    const reason = new RowshardError(ErrorCodes.STALE_EPOCH, `shard ${service.shard} is being restored`);
    let step = 0;
    let rowsLoaded = 0;
    if (manifest === null) {
      service.resetTables(); // no checkpoint yet: back to the initial state
    } else {
      if (dir === null) throw new RowshardError(ErrorCodes.BAD_REQUEST, 'restore: a manifest needs its dir', { field: 'dir' });
      rowsLoaded = restoreShard(service, manifest, this.checkpointDir(dir, 'restore'));
      step = manifest.step;
    }
    this.aggregator?.reset(step, reason);
    this.bspPieces?.abort(reason);
    this.aspPieces.clear();
    this.pushedSteps.fill(step);
    this.epoch = epoch;
    return { rowsLoaded, step };
  }

  /** BSP steps applied so far (0 outside BSP). */
  get appliedSteps(): number {
    return this.aggregator?.appliedSteps ?? 0;
  }
}

/**
 * BSP's pooled pulls must ask for the id tree's order (idTree): position-order sums on several
 * shards would give a worker other bits than on one. (A push carries gradients, whose order
 * is the same either way.)
 */
function checkIdTree(message: string, pulls: readonly PullPart[]): void {
  const unordered = pulls.find((p) => p.bags !== undefined && p.idTree !== true);
  if (!unordered) return;
  throw new RowshardError(
    ErrorCodes.BAD_REQUEST,
    `${message} '${unordered.table}': a BSP job's bags are summed in the id tree's order; a pooled pull must ask for it (idTree: true)`,
    { table: unordered.table, field: 'idTree' },
  );
}
