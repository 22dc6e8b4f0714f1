import { type Envelope, ErrorCodes, parsePullParts, parsePushParts, RowshardError } from '@rowshard/core';
import { BspAggregator } from './bsp-aggregator.js';
import type { PsConfig } from './ps-config.js';
import { PsService } from './ps-service.js';

/**
 * A shard's request handling under the job's consistency mode. Until it is configured (a PS
 * registering with a coordinator listens before it knows its shard) every request gets
 * E_SHARD_UNAVAILABLE. In BSP, pushes carry (step, rank) and go through the aggregator, and
 * pulls tagged with a step wait for the previous step to be applied. In SSP and ASP pushes
 * apply on arrival; SSP's bound is kept by the coordinator's clock.
 */
export class PsNode {
  service: PsService | null = null;
  private aggregator: BspAggregator | null = null;
  config: PsConfig | null = null;

  configure(config: PsConfig): void {
    if (this.aggregator) {
      this.aggregator.abort(new RowshardError(ErrorCodes.SHARD_UNAVAILABLE, 'shard is being reconfigured'));
    }
    this.config = config;
    this.service = new PsService(config);
    this.aggregator = config.sync.mode === 'bsp' ? new BspAggregator(this.service, config.workers, config.stepTimeoutMs) : null;
  }

  handle(request: Envelope): Record<string, unknown> | Promise<Record<string, unknown>> {
    const service = this.service;
    if (!service) throw new RowshardError(ErrorCodes.SHARD_UNAVAILABLE, 'this parameter server is not configured yet');
    const aggregator = this.aggregator;
    if (aggregator && request.type === 'push') {
      const { step, rank } = request as { step?: unknown; rank?: unknown };
      if (typeof step !== 'number' || typeof rank !== 'number') {
        throw new RowshardError(ErrorCodes.BAD_REQUEST, 'BSP pushes must carry step and rank');
      }
      return aggregator.push(step, rank, parsePushParts(request.tables)).then((rowsUpdated) => ({ rowsUpdated }));
    }
    if (aggregator && request.type === 'pull' && typeof request.step === 'number') {
      const step = request.step;
      const parts = parsePullParts(request.tables);
      return aggregator.whenApplied(step).then(() => ({ rows: service.pull(parts) }));
    }
    return service.handle(request);
  }

  /** BSP steps applied so far (0 outside BSP). */
  get appliedSteps(): number {
    return this.aggregator?.appliedSteps ?? 0;
  }
}
