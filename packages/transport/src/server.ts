import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  decodeRequest,
  type Envelope,
  ErrorCodes,
  errorEnvelope,
  type Handlers,
  type ProtocolSchema,
  type Role,
  RowshardError,
  type Senders,
} from '@rowshard/core';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { bearerToken, ClusterAuth } from './auth.js';
import { type EncodedFrame, FrameCodec } from './codec.js';
import { parseTransportOptions, type TransportOptions } from './options.js';
import { guardHandlers } from './senders.js';

export interface ConnectionInfo {
  /** Server-local connection number, for logs. */
  readonly connectionId: number;
  readonly remoteAddress: string;
  /**
   * The role its credential proved at the upgrade; 'any' on a server without a token, where
   * every connection may send every message.
   */
  readonly role: Role | 'any';
}

/**
 * A handler's reply may lend its arrays (say, a pooled buffer of rows): a function under this
 * key is called once the reply has been encoded into its frame, when the arrays may be reused.
 */
export const afterEncode: unique symbol = Symbol('rowshard.afterEncode');

/** Requests served by message type and refused by error code, since the server started. */
export interface RequestCounts {
  readonly requests: Record<string, number>;
  readonly errors: Record<string, number>;
}

export interface RpcServerOptions<P extends ProtocolSchema> {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /**
   * The cluster token: a connection must present a role credential derived from it
   * (roleCredential, auth.ts). null turns authentication off (tests, trusted loopback only).
   */
  readonly token: string | null;
  /** Which roles may send each message (psSenders, coordinatorSenders); others get E_FORBIDDEN. */
  readonly senders: Senders<P>;
  /** What this server is, in error messages ("parameter server", "coordinator"). */
  readonly name: string;
  /** The messages this server serves, and one handler for each. */
  readonly protocol: P;
  readonly handlers: Handlers<P, ConnectionInfo>;
  /** Plain HTTP requests (health checks, /metrics, the dashboard). */
  readonly httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly transport?: Partial<TransportOptions>;
  /** Called when a connection is dropped for a protocol fault or an internal error. */
  readonly onFault?: (connection: ConnectionInfo, reason: string) => void;
  /** Called once when a connection ends for any reason (closed, dead peer, fault). */
  readonly onDisconnect?: (connection: ConnectionInfo) => void;
  /**
   * Called as each request is answered: its type, the seconds from its frame's arrival to its
   * reply being queued (waits included: a BSP barrier, a held pull), and whether it succeeded.
   */
  readonly onServed?: (type: string, seconds: number, ok: boolean) => void;
}

interface Conn {
  readonly ws: WebSocket;
  readonly info: ConnectionInfo;
  alive: boolean;
  /** Reading stopped: the peer has more than maxUnsentBytes of replies unread. */
  throttled: NodeJS.Timeout | null;
}

/**
 * A WebSocket RPC server: binary msgpack frames, one response per request matched by id.
 * Each frame is decoded against the protocol's schema for its type before its handler runs,
 * so a handler only ever sees a well-formed request. A bad request gets a typed error
 * response and changes nothing; a frame that is not a request at all (text, not msgpack,
 * too big) closes only its own connection.
 */
export class RpcServer<P extends ProtocolSchema = ProtocolSchema> {
  readonly options: TransportOptions;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly codec = new FrameCodec();
  private readonly auth: ClusterAuth | null;
  private readonly conns = new Set<Conn>();
  private heartbeat: NodeJS.Timeout | null = null;
  private nextConnectionId = 1;
  private readonly requestCounts: Record<string, number> = {};
  private readonly errorCounts: Record<string, number> = {};

  private constructor(
    private readonly opts: RpcServerOptions<P>,
    http: Server,
  ) {
    this.options = parseTransportOptions(opts.transport ?? {});
    this.auth = opts.token === null ? null : new ClusterAuth(opts.token);
    this.http = http;
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: this.options.maxPayloadBytes,
      clientTracking: false,
    });
  }

  static async listen<P extends ProtocolSchema>(opts: RpcServerOptions<P>): Promise<RpcServer<P>> {
    const http = createServer((req, res) => {
      if (opts.httpHandler) opts.httpHandler(req, res);
      else {
        res.writeHead(404).end();
      }
    });
    // Every handler checks the sender's role first: a handler never runs for a role that may not send its message.
    const server = new RpcServer({ ...opts, handlers: guardHandlers(opts.name, opts.handlers, opts.senders) }, http);
    http.on('upgrade', (req, socket, head) => server.upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
    server.heartbeat = setInterval(() => server.checkAlive(), server.options.heartbeatIntervalMs);
    server.heartbeat.unref();
    return server;
  }

  get port(): number {
    const addr = this.http.address();
    if (addr === null || typeof addr === 'string') throw new Error('server is not listening');
    return addr.port;
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  get url(): string {
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `ws://${h === '0.0.0.0' ? '127.0.0.1' : h}:${this.port}`;
  }

  /** A copy of the request and error counts (stats, /metrics). */
  counts(): RequestCounts {
    return { requests: { ...this.requestCounts }, errors: { ...this.errorCounts } };
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const role = this.auth === null ? 'any' : this.auth.roleOf(bearerToken(req));
    if (role === null) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, role));
  }

  private accept(ws: WebSocket, req: IncomingMessage, role: Role | 'any'): void {
    const conn: Conn = {
      ws,
      info: { connectionId: this.nextConnectionId++, remoteAddress: req.socket.remoteAddress ?? '?', role },
      alive: true,
      throttled: null,
    };
    this.conns.add(conn);
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('close', () => {
      if (conn.throttled) clearTimeout(conn.throttled);
      this.conns.delete(conn);
      this.opts.onDisconnect?.(conn.info);
    });
    // ws closes the socket itself on protocol errors (e.g. 1009 for an oversized frame).
    ws.on('error', (err) => this.opts.onFault?.(conn.info, err.message));
  }

  private fault(conn: Conn, code: number, reason: string): void {
    this.opts.onFault?.(conn.info, reason);
    conn.ws.close(code, reason.slice(0, 120));
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    if (!isBinary) {
      this.fault(conn, 1003, 'text frames are not accepted');
      return;
    }
    let request: Envelope;
    try {
      request = this.codec.decode(data as Buffer);
    } catch (e) {
      this.fault(conn, 1007, (e as Error).message);
      return;
    }
    const started = performance.now();
    let type = 'unknown';
    const served = (ok: boolean) => this.opts.onServed?.(type, (performance.now() - started) / 1000, ok);
    let result: unknown;
    try {
      const decoded = decodeRequest(this.opts.protocol, this.opts.name, request);
      type = decoded.type;
      this.requestCounts[type] = (this.requestCounts[type] ?? 0) + 1;
      const handler = this.opts.handlers[type] as (req: unknown, c: ConnectionInfo) => unknown;
      result = handler(decoded.request, conn.info);
    } catch (e) {
      this.replyError(conn, this.errorFor(conn, request.id, e));
      served(false);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (body) => {
          this.replyResult(conn, request.id, body);
          served(true);
        },
        (e) => {
          this.replyError(conn, this.errorFor(conn, request.id, e));
          served(false);
        },
      );
    } else {
      this.replyResult(conn, request.id, result);
      served(true);
    }
  }

  private errorFor(conn: Conn, id: number, e: unknown): Envelope {
    const code = e instanceof RowshardError ? e.code : ErrorCodes.INTERNAL;
    this.errorCounts[code] = (this.errorCounts[code] ?? 0) + 1;
    if (e instanceof RowshardError) return errorEnvelope(id, e);
    const message = e instanceof Error ? e.message : String(e);
    this.opts.onFault?.(conn.info, `internal error: ${e instanceof Error ? e.stack : message}`);
    return errorEnvelope(id, new RowshardError(ErrorCodes.INTERNAL, `internal error: ${message}`));
  }

  /** A handler's result, sent as the envelope `{ ...body, v, type: 'result', id }`. */
  private replyResult(conn: Conn, id: number, body: unknown): void {
    try {
      if (conn.ws.readyState !== conn.ws.OPEN) return;
      this.send(conn, this.codec.encodeEnvelope(body, 'result', id));
    } finally {
      // The body's arrays have been copied into the frame (or will never be): lent buffers go back.
      (body as { [afterEncode]?: () => void } | null | undefined)?.[afterEncode]?.();
    }
  }

  /** An error envelope (errorFor). */
  private replyError(conn: Conn, message: Envelope): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    this.send(conn, this.codec.encode(message));
  }

  private send(conn: Conn, encoded: EncodedFrame): void {
    conn.ws.send(encoded.frame, { binary: true }, () => {
      encoded.release();
      this.maybeResume(conn);
    });
    if (conn.ws.bufferedAmount > this.options.maxUnsentBytes) this.throttle(conn);
  }

  /**
   * Backpressure: a peer that does not read its replies stops being read (so it cannot make
   * this server queue more), and is disconnected if it stays that way; a paused peer sends
   * nothing that counts as alive, so the heartbeat drops it too.
   */
  private throttle(conn: Conn): void {
    if (conn.throttled) return;
    conn.ws.pause();
    conn.throttled = setTimeout(() => {
      this.opts.onFault?.(
        conn.info,
        `peer left ${conn.ws.bufferedAmount} bytes of replies unread for ${this.options.slowPeerTimeoutMs} ms; disconnected`,
      );
      conn.ws.terminate();
    }, this.options.slowPeerTimeoutMs);
    conn.throttled.unref();
  }

  private maybeResume(conn: Conn): void {
    if (!conn.throttled || conn.ws.bufferedAmount > this.options.maxUnsentBytes / 2) return;
    clearTimeout(conn.throttled);
    conn.throttled = null;
    conn.ws.resume();
  }

  private checkAlive(): void {
    for (const conn of this.conns) {
      if (!conn.alive) {
        conn.ws.terminate();
        this.conns.delete(conn);
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const conn of this.conns) conn.ws.terminate();
    this.conns.clear();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await closed;
  }
}
