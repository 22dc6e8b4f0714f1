import { RpcServer, type RpcServerOptions, type TransportOptions } from '@rowshard/transport';
import type { PsConfig } from './ps-config.js';
import { PsService } from './ps-service.js';

export interface ParameterServerOptions extends PsConfig {
  readonly host?: string;
  readonly port?: number;
  readonly token: string | null;
  readonly transport?: Partial<TransportOptions>;
  readonly onFault?: RpcServerOptions['onFault'];
}

/** A PsService behind an RpcServer: one shard, reachable over WebSocket. */
export class ParameterServer {
  private constructor(
    readonly service: PsService,
    private readonly server: RpcServer,
  ) {}

  static async start(options: ParameterServerOptions): Promise<ParameterServer> {
    const service = new PsService(options);
    const server = await RpcServer.listen({
      host: options.host,
      port: options.port,
      token: options.token,
      transport: options.transport,
      onFault: options.onFault,
      handler: (request) => {
        const body = service.handle(request);
        if (request.type !== 'stats') return body;
        // Process memory rides along with stats: the real cost of the rows, not our accounting.
        // `gc: true` collects first when the process runs with --expose-gc (benchmarks).
        const gc = (globalThis as { gc?: () => void }).gc;
        if (request.gc === true && gc) gc();
        return { ...body, memory: process.memoryUsage() };
      },
    });
    return new ParameterServer(service, server);
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
