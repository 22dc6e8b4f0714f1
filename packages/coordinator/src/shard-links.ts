import { ErrorCodes, type PsProtocol, type PsStats, psProtocol, RowshardError, type ShardFileInfo } from '@rowshard/core';
import { RpcClient } from '@rowshard/transport';
import type { RestoreSource } from './recovery.js';

/** What the dashboard and /api/status show of one shard. */
export type ShardLoad = Pick<
  PsStats,
  'shard' | 'rowsMaterialised' | 'bytesUsed' | 'rowsPulled' | 'rowsPushed' | 'requests' | 'errors'
> & {
  /** Hashed tables with admission or eviction, summed over them: ids admitted, rejected, rows evicted. */
  readonly dynamic?: { admitted: number; rejected: number; evicted: number };
};

/**
 * The coordinator's own connections to the shards: their load for progress reports, and the
 * checkpoint and restore requests. Replaced whenever the shard map changes.
 */
export class ShardLinks {
  private clients: RpcClient<PsProtocol>[] = [];

  /** `token`: the coordinator's role credential, which the shards' control messages need. */
  constructor(private readonly token: string | null) {}

  /** Points at the current shard map (closing the old connections). */
  reset(urls: readonly string[]): void {
    for (const c of this.clients) void c.close();
    this.clients = urls.map(
      (url, shard) => new RpcClient({ url, token: this.token, protocol: psProtocol, peerName: `ps ${shard}` }),
    );
  }

  async load(): Promise<ShardLoad[]> {
    const replies = await Promise.all(this.clients.map((c) => c.request('stats', {}, 5000)));
    return replies.map(({ stats: s }) => {
      const counts = Object.values(s.tables).flatMap((t) => (t.dynamic ? [t.dynamic] : []));
      const dynamic =
        counts.length === 0
          ? {}
          : {
              dynamic: {
                admitted: counts.reduce((a, c) => a + c.admitted, 0),
                rejected: counts.reduce((a, c) => a + c.rejected, 0),
                evicted: counts.reduce((a, c) => a + c.evicted, 0),
              },
            };
      return {
        ...dynamic,
        shard: s.shard,
        rowsMaterialised: s.rowsMaterialised,
        bytesUsed: s.bytesUsed,
        rowsPulled: s.rowsPulled,
        rowsPushed: s.rowsPushed,
        requests: s.requests,
        errors: s.errors,
      };
    });
  }

  /**
   * Asks every shard to write its part of checkpoint `dir` at the given boundary: `step` steps
   * applied (BSP), or each rank r having pushed `pushedSteps[r]` steps (ASP/SSP). Waits for
   * every shard's answer, so that after a failure (the first shard's error is thrown, naming
   * the shard) no shard is still writing into the directory its caller is about to remove.
   */
  async checkpoint(
    dir: string,
    step: number,
    pushedSteps: readonly number[] | null,
    epoch: number,
    timeoutMs: number,
  ): Promise<ShardFileInfo[]> {
    const replies = await Promise.allSettled(
      this.clients.map((c) =>
        c.request('checkpoint', { dir, step, pushedSteps: pushedSteps && [...pushedSteps], epoch }, timeoutMs),
      ),
    );
    const infos: ShardFileInfo[] = [];
    for (const [shard, r] of replies.entries()) {
      if (r.status === 'fulfilled') infos.push(r.value.info);
      else {
        const e = r.reason as Error;
        const code = e instanceof RowshardError ? e.code : ErrorCodes.INTERNAL;
        const details = e instanceof RowshardError ? e.details : {};
        throw new RowshardError(code, `shard ${shard}: ${e.message}`, { ...details, shard });
      }
    }
    return infos.sort((a, b) => a.shard - b.shard);
  }

  /**
   * Restores every shard from `source` (or resets it to the initial state) in a new epoch,
   * over fresh connections: during a recovery the old ones may point at a dead process.
   */
  static async restoreAll(
    urls: readonly string[],
    token: string | null,
    source: RestoreSource | null,
    epoch: number,
    timeoutMs: number,
  ): Promise<void> {
    await Promise.all(
      urls.map(async (url, shard) => {
        const c = new RpcClient({
          url,
          token,
          protocol: psProtocol,
          peerName: `ps ${shard}`,
          transport: { connectTimeoutMs: 3000 },
        });
        try {
          await c.connect();
          await c.request('restore', { dir: source?.dir ?? null, manifest: source?.manifest ?? null, epoch }, timeoutMs);
        } finally {
          await c.close();
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
