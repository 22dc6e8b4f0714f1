import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PsStats } from '@rowshard/core';
import { Gauge, Registry } from 'prom-client';

/**
 * Prometheus metrics of one shard, read from its live stats at scrape time. Served on the
 * PS's port at /metrics (plain HTTP beside the WebSocket RPC), with /healthz.
 */
export function psMetrics(stats: () => PsStats | null): Registry {
  const registry = new Registry();
  const perTable = (name: string, help: string, key: 'rowsMaterialised' | 'bytesUsed') =>
    new Gauge({
      name,
      help,
      labelNames: ['shard', 'table'],
      registers: [registry],
      collect() {
        const s = stats();
        if (!s) return;
        for (const [table, t] of Object.entries(s.tables)) this.set({ shard: String(s.shard), table }, t[key]);
      },
    });
  perTable('rowshard_ps_rows', 'Rows materialised on this shard', 'rowsMaterialised');
  perTable('rowshard_ps_bytes', 'Bytes of rows, optimizer state and indexes on this shard', 'bytesUsed');
  const counterLike = (name: string, help: string, label: string, read: (s: PsStats) => Record<string, number>) =>
    new Gauge({
      name,
      help,
      labelNames: ['shard', label],
      registers: [registry],
      collect() {
        const s = stats();
        if (!s) return;
        for (const [k, v] of Object.entries(read(s))) this.set({ shard: String(s.shard), [label]: k }, v);
      },
    });
  counterLike('rowshard_ps_requests_total', 'Requests served, by type', 'type', (s) => s.requests);
  counterLike('rowshard_ps_errors_total', 'Requests refused, by error code', 'code', (s) => s.errors);
  counterLike('rowshard_ps_rows_moved_total', 'Rows pulled and pushed', 'direction', (s) => ({
    pulled: s.rowsPulled,
    pushed: s.rowsPushed,
  }));
  return registry;
}

export function psHttpHandler(registry: Registry): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };
}
