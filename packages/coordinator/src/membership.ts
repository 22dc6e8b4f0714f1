import { ErrorCodes, RowshardError } from '@rowshard/core';

/**
 * Which PS holds which shard. A PS asks for a shard id (the one it had before a restart, or
 * none); it gets that id if it is free or held by a PS that is gone, otherwise the lowest
 * free id. So shard ids stay stable across restarts and replacements.
 */
export class ShardTable {
  readonly urls: (string | null)[];
  readonly ready: boolean[];

  constructor(readonly numShards: number) {
    this.urls = new Array(numShards).fill(null);
    this.ready = new Array(numShards).fill(false);
  }

  assign(url: string, requested: number | null): number {
    if (requested !== null) {
      if (!Number.isInteger(requested) || requested < 0 || requested >= this.numShards) {
        throw new RowshardError(ErrorCodes.BAD_REQUEST, `requested shard ${requested} is not in [0, ${this.numShards})`);
      }
      this.urls[requested] = url;
      this.ready[requested] = false;
      return requested;
    }
    const existing = this.urls.indexOf(url);
    if (existing >= 0) {
      this.ready[existing] = false;
      return existing;
    }
    const free = this.urls.indexOf(null);
    if (free < 0)
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `all ${this.numShards} shards are assigned; pass the shard to replace`);
    this.urls[free] = url;
    return free;
  }

  markReady(shard: number): void {
    this.ready[shard] = true;
  }

  get complete(): boolean {
    return this.ready.every(Boolean);
  }

  shardUrls(): string[] {
    return this.urls.map((u, i) => {
      if (u === null) throw new RowshardError(ErrorCodes.SHARD_UNAVAILABLE, `shard ${i} has no parameter server`);
      return u;
    });
  }
}
