import type { CheckpointManifest } from '@rowshard/core';
import { RpcClient } from '@rowshard/transport';

/** What the dashboard and /api/status show of one shard. */
export interface ShardLoad {
  readonly shard: unknown;
  readonly rowsMaterialised: unknown;
  readonly bytesUsed: unknown;
  readonly rowsPulled: unknown;
  readonly rowsPushed: unknown;
  readonly requests: unknown;
  readonly errors: unknown;
}

/**
 * The coordinator's own connections to the shards: their load for progress reports, and the
 * checkpoint and restore requests. Replaced whenever the shard map changes.
 */
export class ShardLinks {
  private clients: RpcClient[] = [];

  constructor(private readonly token: string | null) {}

  /** Points at the current shard map (closing the old connections). */
  reset(urls: readonly string[]): void {
    for (const c of this.clients) void c.close();
    this.clients = urls.map((url, shard) => new RpcClient({ url, token: this.token, peerName: `ps ${shard}` }));
  }

  async load(): Promise<ShardLoad[]> {
    const replies = await Promise.all(this.clients.map((c) => c.request({ type: 'stats' }, 5000)));
    return replies.map((r) => {
      const s = r.stats as Record<string, unknown>;
      return {
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

  /** Asks every shard to write its part of checkpoint `dir` at the given boundary. */
  async checkpoint(
    dir: string,
    step: number,
    waitFor: Record<string, number> | null,
    epoch: number,
    timeoutMs: number,
  ): Promise<CheckpointManifest['shards'][number][]> {
    const infos = await Promise.all(
      this.clients.map(async (c) => (await c.request({ type: 'checkpoint', dir, step, waitFor, epoch }, timeoutMs)).info),
    );
    return (infos as CheckpointManifest['shards'][number][]).sort((a, b) => a.shard - b.shard);
  }

  /**
   * Restores every shard from `source` (or resets it to the initial state) in a new epoch,
   * over fresh connections: during a recovery the old ones may point at a dead process.
   */
  static async restoreAll(
    urls: readonly string[],
    token: string | null,
    source: { dir: string; manifest: CheckpointManifest } | null,
    epoch: number,
    timeoutMs: number,
  ): Promise<void> {
    await Promise.all(
      urls.map(async (url, shard) => {
        const c = new RpcClient({ url, token, peerName: `ps ${shard}`, transport: { connectTimeoutMs: 3000 } });
        try {
          await c.connect();
          await c.request({ type: 'restore', dir: source?.dir ?? null, manifest: source?.manifest ?? null, epoch }, timeoutMs);
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
