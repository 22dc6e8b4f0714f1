import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PsStats } from '@rowshard/core';
import { serverMetrics } from '@rowshard/transport/server-metrics';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * Prometheus metrics of one shard, read from its live stats at scrape time, with the
 * process's and a request-latency histogram (serverMetrics). Served on the PS's port at
 * /metrics (plain HTTP beside the WebSocket RPC), with /healthz. `onServed` goes to the
 * RpcServer.
 */
export function psMetrics(stats: () => PsStats | null): {
  registry: Registry;
  onServed: (type: string, seconds: number, ok: boolean) => void;
} {
  const registry = new Registry();
  const onServed = serverMetrics(registry, 'rowshard_ps');
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
  // Totals kept by the shard, exported as counters: set to the shard's count at each scrape.
  const counter = (name: string, help: string, label: string, read: (s: PsStats) => Record<string, number>) =>
    new Counter({
      name,
      help,
      labelNames: ['shard', label],
      registers: [registry],
      collect() {
        const s = stats();
        if (!s) return;
        this.reset();
        for (const [k, v] of Object.entries(read(s))) this.inc({ shard: String(s.shard), [label]: k }, v);
      },
    });
  counter('rowshard_ps_requests_total', 'Requests served, by type', 'type', (s) => s.requests);
  counter('rowshard_ps_errors_total', 'Requests refused, by error code', 'code', (s) => s.errors);
  counter('rowshard_ps_rows_moved_total', 'Rows pulled and pushed', 'direction', (s) => ({
    pulled: s.rowsPulled,
    pushed: s.rowsPushed,
  }));
  // Pooled pulls (sync.poolBags): what a shard sent as bag sums instead of rows.
  new Counter({
    name: 'rowshard_ps_bags_pulled_total',
    help: 'Bags answered with their sums (pooled pulls, sync.poolBags); their positions count in rows_moved',
    labelNames: ['shard'],
    registers: [registry],
    collect() {
      const s = stats();
      if (!s) return;
      this.reset();
      this.inc({ shard: String(s.shard) }, s.bagsPulled);
    },
  });
  // Hashed tables whose rows come and go: ids admitted, steps an id without a row was not, rows evicted.
  new Counter({
    name: 'rowshard_ps_dynamic_ids_total',
    help: 'Hashed-table ids admitted, rejected (a step an id was not admitted) and evicted, by table',
    labelNames: ['shard', 'table', 'event'],
    registers: [registry],
    collect() {
      const s = stats();
      if (!s) return;
      this.reset();
      for (const [table, t] of Object.entries(s.tables)) {
        if (!t.dynamic) continue;
        for (const [event, v] of Object.entries(t.dynamic)) this.inc({ shard: String(s.shard), table, event }, v);
      }
    },
  });
  return { registry, onServed };
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
