// Its own entry (`@rowshard/transport/server-metrics`), not re-exported by the package's index:
// prom-client takes 30 ms to load, and clients (trainer threads, the CLI) never serve metrics.
import { collectDefaultMetrics, Histogram, type Registry } from 'prom-client';

/**
 * What every rowshard server exports besides its own numbers: the process's (CPU, memory,
 * event-loop lag, GC: prom-client's defaults) and a latency histogram of the requests it
 * answered, by message type and outcome. Returns the RpcServer's `onServed` callback.
 */
export function serverMetrics(registry: Registry, prefix: string): (type: string, seconds: number, ok: boolean) => void {
  collectDefaultMetrics({ register: registry });
  const latency = new Histogram({
    name: `${prefix}_request_seconds`,
    help: 'Seconds from a request frame arriving to its reply being queued (waits included), by message type and outcome',
    labelNames: ['type', 'outcome'],
    // 100 µs to 30 s: a pull on loopback to a BSP step held by a slow rank.
    buckets: [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30],
    registers: [registry],
  });
  // Each type's two series made once, not a labels object per observation (prom-client still
  // checks and hashes the labels inside; 2% of a shard's CPU for a small request). Types are
  // the protocol's, and 'unknown'.
  type Series = ReturnType<typeof latency.labels>;
  const series = { ok: new Map<string, Series>(), error: new Map<string, Series>() };
  return (type, seconds, ok) => {
    const outcome = ok ? 'ok' : 'error';
    let child = series[outcome].get(type);
    if (!child) {
      child = latency.labels({ type, outcome });
      series[outcome].set(type, child);
    }
    child.observe(seconds);
  };
}
