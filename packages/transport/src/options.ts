import { booleanField, nonNegativeInt, optional, positiveInt, rejectUnknownKeys, requireObject } from '@rowshard/core';

/**
 * Transport settings shared by servers and clients. Defaults suit one box or a LAN; every
 * one can be changed per server/client. Units are in the names.
 */
export interface TransportOptions {
  /** Largest frame either side accepts; a bigger one closes that connection (ws code 1009). */
  readonly maxPayloadBytes: number;
  /** Ping interval; a peer silent for two intervals is dropped. */
  readonly heartbeatIntervalMs: number;
  /** Per-request deadline, waiting for credit and reconnection included. */
  readonly requestTimeoutMs: number;
  /** Requests in flight per socket (the credit window). */
  readonly maxInFlight: number;
  /** Requests allowed to wait for a credit; beyond that a request fails with E_OVERLOADED. */
  readonly maxQueued: number;
  /**
   * Zero WebSocket masking keys (client → server), so ws sends frames as they are instead of
   * XOR-copying every byte. Masking protects proxies from browser-borne cache poisoning; the
   * peers here are rowshard processes, authenticated by the cluster token. On by default.
   */
  readonly zeroMask: boolean;
  readonly reconnectInitialDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  /** Deadline for opening a connection. */
  readonly connectTimeoutMs: number;
  /**
   * Server: replies a peer has not read yet, in bytes, past which the server stops reading
   * that peer's requests (it resumes once half has drained).
   */
  readonly maxUnsentBytes: number;
  /** Server: a peer held over maxUnsentBytes this long is disconnected, and its replies dropped. */
  readonly slowPeerTimeoutMs: number;
}

export const defaultTransportOptions: Readonly<TransportOptions> = Object.freeze({
  maxPayloadBytes: 256 * 1024 * 1024,
  heartbeatIntervalMs: 2000,
  requestTimeoutMs: 30_000,
  maxInFlight: 8,
  maxQueued: 4096,
  zeroMask: true,
  reconnectInitialDelayMs: 50,
  reconnectMaxDelayMs: 2000,
  connectTimeoutMs: 10_000,
  maxUnsentBytes: 64 * 1024 * 1024,
  slowPeerTimeoutMs: 10_000,
});

const keys = Object.keys(defaultTransportOptions) as (keyof TransportOptions)[];

export function parseTransportOptions(value: unknown = {}, field = 'transport'): TransportOptions {
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, keys, field);
  const out: Record<string, number | boolean> = {};
  for (const key of keys) {
    const fallback = defaultTransportOptions[key];
    out[key] =
      typeof fallback === 'boolean'
        ? optional(obj[key], fallback, (v) => booleanField(v, `${field}.${key}`))
        : key === 'reconnectInitialDelayMs'
          ? optional(obj[key], fallback, (v) => nonNegativeInt(v, `${field}.${key}`))
          : optional(obj[key], fallback, (v) => positiveInt(v, `${field}.${key}`));
  }
  return Object.freeze(out as unknown as TransportOptions);
}
