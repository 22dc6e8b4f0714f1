import { ErrorCodes, RowshardError } from '@rowshard/core';

/**
 * Which PS holds which shard. Shard ids stay stable across restarts: a PS that asks for a
 * shard (`--shard`) gets it; otherwise a PS is known by its name (its hostname by default, so
 * a restarted container or process keeps its shard); a newcomer takes the lowest shard that
 * has never had a PS or whose PS is gone (a replacement after a failure, or compose scaling).
 */
export class ShardTable {
  readonly urls: (string | null)[];
  readonly ready: boolean[];
  private readonly names: (string | null)[];
  private readonly live: boolean[];
  /** Each shard's current registration connection, and the reverse. */
  private readonly connectionOf = new Map<number, number>();
  private readonly shardOfConnection = new Map<number, number>();

  constructor(readonly numShards: number) {
    this.urls = new Array(numShards).fill(null);
    this.ready = new Array(numShards).fill(false);
    this.names = new Array(numShards).fill(null);
    this.live = new Array(numShards).fill(false);
  }

  /** Gives the PS registering on `connectionId` a shard (see the class comment for which). */
  assign(connectionId: number, url: string, requested: number | null, name: string | null = null): number {
    let shard: number;
    if (requested !== null) {
      if (!Number.isInteger(requested) || requested < 0 || requested >= this.numShards) {
        throw new RowshardError(ErrorCodes.BAD_REQUEST, `requested shard ${requested} is not in [0, ${this.numShards})`);
      }
      shard = requested;
    } else {
      const known = name === null ? -1 : this.names.indexOf(name);
      if (known >= 0 && this.live[known] && this.urls[known] !== url) {
        throw new RowshardError(
          ErrorCodes.BAD_REQUEST,
          `a parameter server named '${name}' already serves shard ${known} at ${this.urls[known]}; names must be unique (--name)`,
        );
      }
      const sameUrl = this.urls.indexOf(url);
      const free = this.live.findIndex((l, i) => !l && this.urls[i] === null);
      const orphaned = this.live.indexOf(false);
      shard = known >= 0 ? known : sameUrl >= 0 ? sameUrl : free >= 0 ? free : orphaned;
      if (shard < 0) {
        throw new RowshardError(
          ErrorCodes.BAD_REQUEST,
          `all ${this.numShards} shards have a live parameter server; pass --shard to replace one`,
        );
      }
    }
    this.urls[shard] = url;
    this.names[shard] = name;
    this.live[shard] = true;
    this.ready[shard] = false;
    this.connectionOf.set(shard, connectionId);
    this.shardOfConnection.set(connectionId, shard);
    return shard;
  }

  /** How shard `shard`'s parameter server is known: its name, else its URL. */
  describe(shard: number): string {
    return this.names[shard] ?? this.urls[shard] ?? `shard ${shard}`;
  }

  markReady(shard: number): void {
    this.ready[shard] = true;
  }

  /** The shard's PS is gone (its registration connection dropped). */
  /**
   * A connection closed. Returns the shard whose PS it was still registered through, which is
   * now lost; null when it was not a PS connection, or its PS already registered again on a
   * newer connection (that PS is not lost).
   */
  connectionClosed(connectionId: number): number | null {
    const shard = this.shardOfConnection.get(connectionId);
    if (shard === undefined) return null;
    this.shardOfConnection.delete(connectionId);
    return this.connectionOf.get(shard) === connectionId ? shard : null;
  }

  markGone(shard: number): void {
    this.live[shard] = false;
    this.ready[shard] = false;
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
