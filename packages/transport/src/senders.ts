import { ErrorCodes, type Handlers, type ProtocolSchema, type Role, RowshardError, type Senders } from '@rowshard/core';
import type { ConnectionInfo } from './server.js';

const listed = (allowed: readonly Role[]) =>
  allowed.length === 0 ? 'no one' : allowed.map((r) => (r === 'coordinator' ? 'the coordinator' : r)).join(' or ');

/**
 * Wraps each handler so it runs only for a connection whose role may send that message
 * (`senders`, declared beside the protocol); any other role gets E_FORBIDDEN and nothing runs.
 * A message missing from `senders` is refused to every role. A connection of role 'any' (a
 * server without a token) passes: without a token there is nothing to tell roles apart by.
 */
export function guardHandlers<P extends ProtocolSchema>(
  server: string,
  handlers: Handlers<P, ConnectionInfo>,
  senders: Senders<P>,
): Handlers<P, ConnectionInfo> {
  const guarded: Record<string, (request: unknown, conn: ConnectionInfo) => unknown> = {};
  for (const [type, handler] of Object.entries(handlers) as [string, (request: unknown, conn: ConnectionInfo) => unknown][]) {
    const allowed: readonly Role[] = Object.hasOwn(senders, type) ? (senders as Record<string, readonly Role[]>)[type] : [];
    guarded[type] = (request, conn) => {
      if (conn.role !== 'any' && !allowed.includes(conn.role)) {
        throw new RowshardError(
          ErrorCodes.FORBIDDEN,
          `${type}: the ${server} takes this message only from ${listed(allowed)}; this connection authenticated as ${conn.role}, so nothing was done`,
          { type, role: conn.role, allowed: allowed.join(',') },
        );
      }
      return handler(request, conn);
    };
  }
  return guarded as Handlers<P, ConnectionInfo>;
}
