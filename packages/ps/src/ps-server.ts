import {
  ErrorCodes,
  type Handlers,
  type PsConfig,
  type PsProtocol,
  type PsStats,
  psProtocol,
  psSenders,
  type ReplyOf,
  RowshardError,
  type StorageProof,
} from '@rowshard/core';
import { type ConnectionInfo, RpcServer, type RpcServerOptions, type TransportOptions } from '@rowshard/transport';
import { CheckpointRoot } from './checkpoint-root.js';
import { psHttpHandler, psMetrics } from './metrics.js';
import { PsNode } from './ps-node.js';
import { proveSharedStorage } from './storage-proof.js';

export interface ParameterServerOptions {
  /** Serve this configuration at once; without it the PS waits for configure() (coordinator). */
  readonly config?: PsConfig;
  readonly host?: string;
  readonly port?: number;
  /** The cluster token: connections present role credentials derived from it; null: no authentication. */
  readonly token: string | null;
  /** The directory checkpoints are read and written under; absent: checkpoint and restore-from-a-directory are refused. */
  readonly checkpointRoot?: string;
  readonly transport?: Partial<TransportOptions>;
  readonly onFault?: RpcServerOptions<PsProtocol>['onFault'];
}

/**
 * A shard (PsNode) behind an RpcServer, reachable over WebSocket. The server keeps the sockets
 * and the request counts; this file holds the PS's one dispatch table, from message type to
 * the node (docs/ARCHITECTURE.md, "One pull, end to end").
 */
export class ParameterServer {
  private constructor(
    readonly node: PsNode,
    private readonly server: RpcServer<PsProtocol>,
    private readonly checkpointRoot: CheckpointRoot | null,
  ) {}

  static async start(options: ParameterServerOptions): Promise<ParameterServer> {
    const root = options.checkpointRoot ? new CheckpointRoot(options.checkpointRoot) : null;
    const node = new PsNode(root);
    if (options.config) node.configure(options.config);
    let server: RpcServer<PsProtocol> | null = null;
    const stats = (): PsStats | null => {
      const tables = node.service?.stats();
      return tables && server ? { ...tables, ...server.counts() } : null;
    };
    const metrics = psMetrics(stats);
    server = await RpcServer.listen({
      name: 'parameter server',
      protocol: psProtocol,
      handlers: psHandlers(node, stats),
      senders: psSenders,
      host: options.host,
      port: options.port,
      token: options.token,
      transport: options.transport,
      onFault: options.onFault,
      onServed: metrics.onServed,
      httpHandler: psHttpHandler(metrics.registry),
    });
    return new ParameterServer(node, server, root);
  }

  configure(config: PsConfig): void {
    this.node.configure(config);
  }

  /** Reads the coordinator's storage marker in the job's checkpoint directory `dir` (storage-proof.ts). */
  proveSharedStorage(dir: string): StorageProof {
    return proveSharedStorage(this.checkpointRoot, dir);
  }

  get url(): string {
    return this.server.url;
  }

  get port(): number {
    return this.server.port;
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** The PS's one dispatch table: each message type to the node (or, for stats, the counts). */
export function psHandlers(node: PsNode, stats: () => PsStats | null): Handlers<PsProtocol, ConnectionInfo> {
  return {
    pull: (request) => node.pull(request),
    push: (request) => node.push(request),
    push_pull: (request) => node.pushPull(request),
    load: (request) => node.load(request),
    checkpoint: (request) => node.checkpoint(request),
    restore: (request) => node.restore(request),
    stats: (request) => statsReply(stats(), request.gc === true),
    ping: () => ({}),
  };
}

/**
 * Process memory rides along with stats: the real cost of the rows, not our accounting.
 * `gc` collects first when the process runs with --expose-gc (benchmarks).
 */
function statsReply(stats: PsStats | null, gc: boolean): ReplyOf<PsProtocol, 'stats'> {
  if (!stats) throw new RowshardError(ErrorCodes.SHARD_UNAVAILABLE, 'this parameter server is not configured yet');
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc && collect) collect();
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { stats, memory: { rss, heapTotal, heapUsed, external, arrayBuffers } };
}
