import { serverMetrics } from '@rowshard/transport/server-metrics';
import { Counter, Gauge, Registry } from 'prom-client';
import type { CoordinatorStatus } from './status.js';

/**
 * Prometheus metrics of a coordinator, read from its live status at scrape time (no
 * background timers), with the process's and a request-latency histogram (serverMetrics,
 * whose `onServed` goes to the RpcServer). One Registry per coordinator: several can live in
 * one process.
 */
export function coordinatorMetrics(status: () => CoordinatorStatus): {
  registry: Registry;
  onServed: (type: string, seconds: number, ok: boolean) => void;
} {
  const registry = new Registry();
  const onServed = serverMetrics(registry, 'rowshard_coordinator');
  // A total the coordinator keeps, exported as a counter: set to its count at each scrape.
  const counter = (name: string, help: string, read: (s: CoordinatorStatus) => number | null | undefined) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read(status());
        this.reset();
        if (typeof v === 'number' && Number.isFinite(v)) this.inc(v);
      },
    });
  const gauge = (name: string, help: string, read: (s: CoordinatorStatus) => number | null | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read(status());
        if (typeof v === 'number' && Number.isFinite(v)) this.set(v);
      },
    });
  const lastEval = (s: CoordinatorStatus) => s.evals.at(-1);
  gauge('rowshard_step', 'Last reported training step', (s) => s.lastProgress?.step);
  gauge('rowshard_loss', 'Mean training loss over the last report window', (s) => s.lastProgress?.loss);
  gauge('rowshard_examples_per_second', 'Training throughput over the last report window', (s) => s.lastProgress?.examplesPerSec);
  counter('rowshard_examples_total', 'Examples trained on', (s) => s.examples);
  gauge('rowshard_eval_loss', 'Held-out loss at the last evaluation', (s) => lastEval(s)?.loss);
  gauge('rowshard_eval_accuracy', 'Held-out accuracy at the last evaluation', (s) => lastEval(s)?.accuracy);
  gauge('rowshard_eval_auc', 'Held-out ROC AUC at the last evaluation (binary models)', (s) => lastEval(s)?.auc);
  gauge('rowshard_workers', 'Workers in the job', (s) => s.workers);
  gauge('rowshard_workers_done', 'Workers that finished', (s) => s.workersDone);
  gauge('rowshard_shards_ready', 'Parameter-server shards registered and ready', (s) => s.shardsReady.filter(Boolean).length);
  counter('rowshard_recoveries_total', 'Restores after a failure', (s) => s.recoveries);
  counter('rowshard_checkpoints_written_total', 'Checkpoints written', (s) => s.checkpoints?.written);
  counter(
    'rowshard_checkpoints_failed_total',
    'Checkpoints that could not be written (full or read-only disk); training went on',
    (s) => s.checkpoints?.failed,
  );
  gauge('rowshard_epoch', 'Restores by this coordinator so far (the epoch, counted from 0 at its start)', (s) => s.restores);
  gauge(
    'rowshard_row_cache_hit_ratio',
    "Rows the workers' caches served over rows they looked up (SSP, ASP with cacheSteps)",
    (s) => (s.rowCache && s.rowCache.lookups > 0 ? s.rowCache.hits / s.rowCache.lookups : null),
  );
  return { registry, onServed };
}
