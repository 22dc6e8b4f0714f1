import type { MessageType, ProtocolSchema } from './protocol.js';

/**
 * Who is at the other end of a connection, as its credential says (the transport derives one
 * credential per role from the cluster token and checks it at the HTTP upgrade):
 * - `coordinator`: the control role; the coordinator and the local launcher.
 * - `ps`: a parameter server registering with the coordinator.
 * - `trainer`: a trainer process and its worker threads.
 * - `viewer`: read-only monitoring (the dashboard's session, `curl /api/status`).
 */
export const roles = ['coordinator', 'ps', 'trainer', 'viewer'] as const;
export type Role = (typeof roles)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/**
 * For each message a server serves, the roles that may send it. A server refuses the
 * message from any other role with E_FORBIDDEN before its handler runs. Declared beside each
 * protocol; the compiler reports a message left out.
 */
export type Senders<P extends ProtocolSchema> = { readonly [K in MessageType<P>]: readonly Role[] };
