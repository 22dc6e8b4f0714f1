import { EventEmitter } from 'node:events';
import {
  decodeReply,
  type Envelope,
  ErrorCodes,
  type MessageType,
  type ProtocolSchema,
  type ReplyOf,
  type RequestOf,
  RowshardError,
} from '@rowshard/core';
import WebSocket from 'ws';
import { authHeaders } from './auth.js';
import { FrameCodec } from './codec.js';
import { parseTransportOptions, type TransportOptions } from './options.js';

export interface RpcClientOptions<P extends ProtocolSchema> {
  readonly url: string;
  /** The role credential this client presents (roleCredential, auth.ts); null: none. */
  readonly token: string | null;
  /** The protocol the server speaks: requests are typed by it and replies decoded with it. */
  readonly protocol: P;
  readonly transport?: Partial<TransportOptions>;
  /** Name used in error messages ("ps 1", "coordinator"). */
  readonly peerName?: string;
  /**
   * Once the connection has been open, how long a request waits for it to come back after
   * it dropped, before failing with E_CONNECTION_CLOSED (default: the request's whole
   * deadline). A worker's shard clients wait briefly: a shard that does not come back was
   * killed or stalled, and the worker should join the recovery, not wait out its deadline.
   */
  readonly reconnectWaitMs?: number;
}

interface Pending {
  readonly type: string;
  resolve(value: unknown): void;
  reject(err: RowshardError): void;
  timer: NodeJS.Timeout;
}

interface Waiter {
  resolve(): void;
  reject(err: RowshardError): void;
}

/**
 * A WebSocket RPC client. Requests carry ids and many may be in flight, up to a credit
 * window (`maxInFlight`); callers beyond it wait, up to `maxQueued` of them, and every wait
 * is bounded by the request deadline. A dropped connection fails the requests on it with
 * E_CONNECTION_CLOSED and reconnects with exponential backoff; requests made meanwhile
 * wait for the new connection until their deadline.
 *
 * Events: 'connected', 'disconnected' (reason), 'unauthorized'.
 */
export class RpcClient<P extends ProtocolSchema> extends EventEmitter {
  readonly options: TransportOptions;
  private readonly codec = new FrameCodec();
  private ws: WebSocket | null = null;
  private open = false;
  private everOpened = false;
  private closedByUser = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private inFlight = 0;
  private readonly creditWaiters: Waiter[] = [];
  private readonly openWaiters: Waiter[] = [];
  private reconnectDelayMs: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private fatal: RowshardError | null = null;

  constructor(private readonly opts: RpcClientOptions<P>) {
    super();
    this.options = parseTransportOptions(opts.transport ?? {});
    this.reconnectDelayMs = this.options.reconnectInitialDelayMs;
  }

  get peer(): string {
    return this.opts.peerName ?? this.opts.url;
  }

  get connected(): boolean {
    return this.open;
  }

  /** Opens the connection; rejects with E_UNAUTHORIZED, or E_TIMEOUT after connectTimeoutMs. */
  async connect(): Promise<void> {
    if (this.open) return;
    if (!this.ws) this.dial();
    await this.waitOpen(Date.now() + this.options.connectTimeoutMs);
  }

  private dial(): void {
    this.reconnectTimer = null;
    const zeroMask = this.options.zeroMask;
    const ws = new WebSocket(this.opts.url, {
      perMessageDeflate: false,
      maxPayload: this.options.maxPayloadBytes,
      headers: authHeaders(this.opts.token),
      handshakeTimeout: this.options.connectTimeoutMs,
      ...(zeroMask ? { generateMask: (mask: Buffer) => mask.fill(0) } : {}),
    });
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.open = true;
      this.everOpened = true;
      this.lastHeard = Date.now();
      this.reconnectDelayMs = this.options.reconnectInitialDelayMs;
      this.startHeartbeat();
      for (const w of this.openWaiters.splice(0)) w.resolve();
      this.emit('connected');
    });
    ws.on('unexpected-response', (_req, res) => {
      if (res.statusCode === 401) {
        this.fatal = new RowshardError(
          ErrorCodes.UNAUTHORIZED,
          this.opts.token === null
            ? `${this.peer} requires a credential and this client has none (HTTP 401)`
            : `${this.peer} refused this client's credential (HTTP 401): it is not a role credential of the cluster token the server holds`,
        );
        this.emit('unauthorized');
      } else {
        this.lastError = `HTTP ${res.statusCode}`;
      }
      ws.terminate();
    });
    ws.on('message', (data: Buffer, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.lastHeard = Date.now();
    });
    ws.on('error', (err) => {
      this.lastError = err.message;
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
  }

  private lastError = '';

  private onClose(code: number, reason: string): void {
    const wasOpen = this.open;
    this.open = false;
    this.ws = null;
    this.stopHeartbeat();
    const why = reason || this.lastError || `code ${code}`;
    const err = new RowshardError(ErrorCodes.CONNECTION_CLOSED, `connection to ${this.peer} closed (${why})`, {
      peer: this.peer,
      code,
    });
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
    this.inFlight = 0;
    this.releaseCredits();
    if (wasOpen) this.emit('disconnected', why);
    if (this.fatal) {
      for (const w of this.openWaiters.splice(0)) w.reject(this.fatal);
      return;
    }
    if (!this.closedByUser) {
      this.reconnectTimer = setTimeout(() => this.dial(), this.reconnectDelayMs);
      this.reconnectTimer.unref();
      this.reconnectDelayMs = Math.min(this.options.reconnectMaxDelayMs, Math.max(1, this.reconnectDelayMs * 2));
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastHeard = Date.now();
    if (!isBinary) return;
    let msg: Envelope;
    try {
      msg = this.codec.decode(data);
    } catch {
      this.ws?.close(1007, 'malformed response');
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return; // a response after its deadline: the caller has moved on
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    this.inFlight--;
    this.releaseCredits();
    if (msg.type === 'error') {
      p.reject(RowshardError.fromJSON((msg as { error?: unknown }).error));
      return;
    }
    let reply: unknown;
    try {
      reply = decodeReply(this.opts.protocol, p.type, msg);
    } catch (e) {
      p.reject(e instanceof RowshardError ? e : new RowshardError(ErrorCodes.BAD_REPLY, String(e)));
      return;
    }
    p.resolve(reply);
  }

  private startHeartbeat(): void {
    const interval = this.options.heartbeatIntervalMs;
    this.heartbeat = setInterval(() => {
      if (!this.ws) return;
      if (Date.now() - this.lastHeard > 2 * interval) {
        this.lastError = `no reply for ${2 * interval} ms`;
        this.ws.terminate();
        return;
      }
      this.ws.ping();
    }, interval);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private releaseCredits(): void {
    while (this.inFlight < this.options.maxInFlight && this.creditWaiters.length > 0) {
      this.inFlight++;
      this.creditWaiters.shift()?.resolve();
    }
  }

  private waitFor(list: Waiter[], deadline: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          const i = list.indexOf(waiter);
          if (i >= 0) list.splice(i, 1);
          reject(new RowshardError(ErrorCodes.TIMEOUT, `${what} ${this.peer} timed out`, { peer: this.peer }));
        },
        Math.max(0, deadline - Date.now()),
      );
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      list.push(waiter);
    });
  }

  private async waitOpen(deadline: number): Promise<void> {
    if (this.fatal) throw this.fatal;
    if (this.closedByUser) throw new RowshardError(ErrorCodes.CONNECTION_CLOSED, `client for ${this.peer} is closed`);
    if (this.open) return;
    if (!this.ws && !this.reconnectTimer) this.dial();
    const wait = this.opts.reconnectWaitMs;
    const giveUp = this.everOpened && wait !== undefined && Date.now() + wait < deadline;
    try {
      await this.waitFor(this.openWaiters, giveUp ? Date.now() + (wait as number) : deadline, 'connecting to');
    } catch (e) {
      if (giveUp && e instanceof RowshardError && e.code === ErrorCodes.TIMEOUT) {
        throw new RowshardError(
          ErrorCodes.CONNECTION_CLOSED,
          `connection to ${this.peer} closed and not back within ${wait} ms${this.lastError ? ` (last error: ${this.lastError})` : ''}`,
          { peer: this.peer },
        );
      }
      // Why it never opened says more than that it did not (a name not resolved, refused).
      if (e instanceof RowshardError && e.code === ErrorCodes.TIMEOUT && this.lastError)
        e.message += ` (last error: ${this.lastError})`;
      throw e;
    }
  }

  /**
   * Sends a request of message type `type` and resolves with its decoded reply; a server
   * error comes back as the RowshardError it was (same code, message and details), and a
   * reply that does not match the protocol as E_BAD_REPLY.
   */
  async request<K extends MessageType<P>>(
    type: K,
    body: RequestOf<P, K>,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<ReplyOf<P, K>> {
    const deadline = Date.now() + timeoutMs;
    await this.waitOpen(deadline);
    if (this.inFlight >= this.options.maxInFlight) {
      if (this.creditWaiters.length >= this.options.maxQueued) {
        throw new RowshardError(ErrorCodes.OVERLOADED, `${this.creditWaiters.length} requests already wait for ${this.peer}`);
      }
      await this.waitFor(this.creditWaiters, deadline, 'waiting for a credit to');
    } else {
      this.inFlight++;
    }
    const ws = this.ws;
    if (!this.open || !ws) {
      this.inFlight--;
      this.releaseCredits();
      return this.request(type, body, Math.max(1, deadline - Date.now()));
    }
    const id = this.nextId++;
    const encoded = this.codec.encodeEnvelope(body, type, id);
    return new Promise<ReplyOf<P, K>>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          if (!this.pending.delete(id)) return;
          this.inFlight--;
          this.releaseCredits();
          reject(
            new RowshardError(ErrorCodes.TIMEOUT, `${type} to ${this.peer} timed out after ${timeoutMs} ms`, {
              peer: this.peer,
            }),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      this.pending.set(id, { type, resolve: resolve as (v: unknown) => void, reject, timer });
      ws.send(encoded.frame, { binary: true }, encoded.release);
    });
  }

  /** Closes the connection for good; pending requests fail with E_CONNECTION_CLOSED. */
  async close(): Promise<void> {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const w of this.openWaiters.splice(0)) {
      w.reject(new RowshardError(ErrorCodes.CONNECTION_CLOSED, `client for ${this.peer} is closed`));
    }
    const ws = this.ws;
    if (!ws) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.terminate();
    });
  }
}
