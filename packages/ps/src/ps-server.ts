import { RpcServer, type RpcServerOptions, type TransportOptions } from '@rowshard/transport';
import { psHttpHandler, psMetrics } from './metrics.js';
import type { PsConfig } from './ps-config.js';
import { PsNode } from './ps-node.js';

export interface ParameterServerOptions {
  /** Serve this configuration at once; without it the PS waits for configure() (coordinator). */
  readonly config?: PsConfig;
  readonly host?: string;
  readonly port?: number;
  readonly token: string | null;
  readonly transport?: Partial<TransportOptions>;
  readonly onFault?: RpcServerOptions['onFault'];
}

/** A shard (PsNode) behind an RpcServer, reachable over WebSocket. */
export class ParameterServer {
  private constructor(
    readonly node: PsNode,
    private readonly server: RpcServer,
  ) {}

  static async start(options: ParameterServerOptions): Promise<ParameterServer> {
    const node = new PsNode();
    if (options.config) node.configure(options.config);
    const server = await RpcServer.listen({
      host: options.host,
      port: options.port,
      token: options.token,
      transport: options.transport,
      onFault: options.onFault,
      httpHandler: psHttpHandler(psMetrics(() => node.service?.stats() ?? null)),
      handler: (request) => {
        let body: ReturnType<PsNode['handle']>;
        try {
          body = node.handle(request);
        } catch (e) {
          node.service?.noteError(e);
          throw e;
        }
        if (body instanceof Promise) body.catch((e) => node.service?.noteError(e));
        if (request.type !== 'stats' || body instanceof Promise) return body;
        // Process memory rides along with stats: the real cost of the rows, not our accounting.
        // `gc: true` collects first when the process runs with --expose-gc (benchmarks).
        const gc = (globalThis as { gc?: () => void }).gc;
        if (request.gc === true && gc) gc();
        return { ...body, memory: process.memoryUsage() };
      },
    });
    return new ParameterServer(node, server);
  }

  configure(config: PsConfig): void {
    this.node.configure(config);
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
