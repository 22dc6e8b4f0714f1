import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { dashboardHtml } from './dashboard.js';
import type { CoordinatorStatus } from './status.js';

/**
 * Plain HTTP beside the coordinator's WebSocket RPC (same port): /metrics (Prometheus),
 * /healthz, and with the dashboard enabled / and /api/status. Read-only, no secrets: the
 * cluster token guards only the RPC upgrade.
 */
export function coordinatorHttpHandler(options: {
  dashboard: boolean;
  status: () => CoordinatorStatus;
  metrics: Registry;
}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/metrics') {
      options.metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.contentType }).end(text),
        (e: Error) => res.writeHead(500).end(e.message),
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (options.dashboard && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(dashboardHtml);
      return;
    }
    if (options.dashboard && path === '/api/status') {
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(options.status()));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
}
