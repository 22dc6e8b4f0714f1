import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Envelope,
  ErrorCodes,
  parseCheckpointManifest,
  parsePullParts,
  parsePushParts,
  RowshardError,
} from '@rowshard/core';
import { BspAggregator } from './bsp-aggregator.js';
import type { PsConfig } from './ps-config.js';
import { PsService } from './ps-service.js';
import { restoreShard, writeShardSnapshot } from './snapshot.js';

/**
 * A shard's request handling under the job's consistency mode, with the coordinator's
 * control requests (checkpoint, restore). Until it is configured (a PS registering with a
 * coordinator listens before it knows its shard) every request gets E_SHARD_UNAVAILABLE.
 *
 * - BSP: pushes carry (step, rank) and go through the aggregator; pulls tagged with a step
 *   wait for the previous step to be applied.
 * - SSP/ASP: pushes apply on arrival; SSP's bound is kept by the coordinator's clock.
 * - Every push carries (step, rank): a retried push is applied at most once, and a
 *   checkpoint can wait until each rank's push for a given step has landed.
 * - Requests tagged with an epoch older than this shard's (set at each restore) are refused
 *   with E_STALE_EPOCH: a worker that missed a restore cannot write into the restored state.
 */
export class PsNode {
  service: PsService | null = null;
  private aggregator: BspAggregator | null = null;
  config: PsConfig | null = null;
  epoch = 0;
  /** Last step each rank pushed and had applied (ASP/SSP), -1 before any. */
  private lastPushStep: number[] = [];
  private readonly pushWaiters: { ready(): boolean; resolve(): void }[] = [];

  configure(config: PsConfig): void {
    this.aggregator?.abort(new RowshardError(ErrorCodes.SHARD_UNAVAILABLE, 'shard is being reconfigured'));
    this.config = config;
    this.service = new PsService(config);
    this.aggregator = config.sync.mode === 'bsp' ? new BspAggregator(this.service, config.workers, config.stepTimeoutMs) : null;
    this.lastPushStep = new Array(config.workers).fill(-1);
  }

  handle(request: Envelope): Record<string, unknown> | Promise<Record<string, unknown>> {
    const service = this.service;
    if (!service) throw new RowshardError(ErrorCodes.SHARD_UNAVAILABLE, 'this parameter server is not configured yet');
    if (typeof request.epoch === 'number' && request.epoch < this.epoch) {
      throw new RowshardError(
        ErrorCodes.STALE_EPOCH,
        `request from epoch ${request.epoch}; this shard was restored into epoch ${this.epoch}`,
        {
          epoch: request.epoch,
          current: this.epoch,
        },
      );
    }
    switch (request.type) {
      case 'push':
        return this.push(service, request);
      case 'pull':
        if (this.aggregator && typeof request.step === 'number') {
          const parts = parsePullParts(request.tables);
          return this.aggregator.whenApplied(request.step).then(() => ({ rows: service.pull(parts) }));
        }
        return service.handle(request);
      case 'checkpoint':
        return this.checkpoint(service, request);
      case 'restore':
        return this.restore(service, request);
      default:
        return service.handle(request);
    }
  }

  private push(service: PsService, request: Envelope): Record<string, unknown> | Promise<Record<string, unknown>> {
    const { step, rank } = request as { step?: unknown; rank?: unknown };
    const parts = parsePushParts(request.tables);
    if (typeof step !== 'number' || typeof rank !== 'number') {
      if (this.aggregator) throw new RowshardError(ErrorCodes.BAD_REQUEST, 'BSP pushes must carry step and rank');
      return { rowsUpdated: service.push(parts) };
    }
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.lastPushStep.length) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `rank must be in [0, ${this.lastPushStep.length}), got ${rank}`);
    }
    if (this.aggregator) {
      return this.aggregator.push(step, rank, parts).then((rowsUpdated) => {
        this.notePush(rank, step);
        return { rowsUpdated };
      });
    }
    if (step <= this.lastPushStep[rank]) return { rowsUpdated: 0, duplicate: true };
    const rowsUpdated = service.push(parts);
    this.notePush(rank, step);
    return { rowsUpdated };
  }

  private notePush(rank: number, step: number): void {
    this.lastPushStep[rank] = Math.max(this.lastPushStep[rank], step);
    for (const w of [...this.pushWaiters]) {
      if (w.ready()) {
        this.pushWaiters.splice(this.pushWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /**
   * Writes this shard's snapshot once the state is at the requested boundary: in BSP, once
   * `step` steps are applied; otherwise once each rank's push for its `waitFor` step landed.
   */
  private async checkpoint(service: PsService, request: Envelope): Promise<Record<string, unknown>> {
    const { dir, step, waitFor } = request as { dir?: unknown; step?: unknown; waitFor?: unknown };
    if (typeof dir !== 'string' || typeof step !== 'number')
      throw new RowshardError(ErrorCodes.BAD_REQUEST, 'checkpoint needs dir and step');
    if (this.aggregator) await this.aggregator.whenApplied(step);
    else if (waitFor && typeof waitFor === 'object') {
      const want = waitFor as Record<string, number>;
      const ready = () => Object.entries(want).every(([rank, s]) => this.lastPushStep[Number(rank)] >= s);
      if (!ready()) await new Promise<void>((resolve) => this.pushWaiters.push({ ready, resolve }));
    }
    mkdirSync(dir, { recursive: true });
    const info = writeShardSnapshot(service, join(dir, `shard-${service.shard}.safetensors`), step);
    return { info };
  }

  /** Loads the rows this shard owns from a checkpoint and continues from its step, in a new epoch. */
  private restore(service: PsService, request: Envelope): Record<string, unknown> {
    const { dir, manifest, epoch } = request as { dir?: unknown; manifest?: unknown; epoch?: unknown };
    if (typeof epoch !== 'number') throw new RowshardError(ErrorCodes.BAD_REQUEST, 'restore needs an epoch');
    const reason = new RowshardError(ErrorCodes.STALE_EPOCH, `shard ${service.shard} is being restored`);
    let step = 0;
    let rowsLoaded = 0;
    if (manifest === null || manifest === undefined) {
      service.resetTables(); // no checkpoint yet: back to the initial state
    } else {
      if (typeof dir !== 'string') throw new RowshardError(ErrorCodes.BAD_REQUEST, 'restore needs dir');
      const m = parseCheckpointManifest(manifest, `${dir}/manifest.json`);
      rowsLoaded = restoreShard(service, m, dir);
      step = m.step;
    }
    this.aggregator?.reset(step, reason);
    this.lastPushStep.fill(step - 1);
    this.epoch = epoch;
    return { rowsLoaded, step };
  }

  /** BSP steps applied so far (0 outside BSP). */
  get appliedSteps(): number {
    return this.aggregator?.appliedSteps ?? 0;
  }
}
