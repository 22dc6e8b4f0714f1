import { Gauge, Registry } from 'prom-client';

/**
 * Prometheus metrics of a coordinator, read from its live status at scrape time (no
 * background timers). One Registry per coordinator: several can live in one process.
 */
export function coordinatorMetrics(status: () => Record<string, unknown>): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, read: (s: Record<string, unknown>) => number | null | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read(status());
        if (typeof v === 'number' && Number.isFinite(v)) this.set(v);
      },
    });
  const last = (s: Record<string, unknown>) => (s.lastProgress ?? {}) as Record<string, number>;
  const lastEval = (s: Record<string, unknown>) => ((s.evals as { accuracy: number | null; loss: number }[]) ?? []).at(-1);
  gauge('rowshard_step', 'Last reported training step', (s) => last(s).step);
  gauge('rowshard_loss', 'Mean training loss over the last report window', (s) => last(s).loss);
  gauge('rowshard_examples_per_second', 'Training throughput over the last report window', (s) => last(s).examplesPerSec);
  gauge('rowshard_examples_total', 'Examples trained on', (s) => s.examples as number);
  gauge('rowshard_eval_loss', 'Held-out loss at the last evaluation', (s) => lastEval(s)?.loss);
  gauge('rowshard_eval_accuracy', 'Held-out accuracy at the last evaluation', (s) => lastEval(s)?.accuracy);
  gauge('rowshard_workers', 'Workers in the job', (s) => s.workers as number);
  gauge('rowshard_workers_done', 'Workers that finished', (s) => s.workersDone as number);
  gauge(
    'rowshard_shards_ready',
    'Parameter-server shards registered and ready',
    (s) => (s.shardsReady as boolean[]).filter(Boolean).length,
  );
  gauge('rowshard_recoveries_total', 'Restores after a failure', (s) => s.recoveries as number);
  gauge('rowshard_epoch', 'Current epoch (bumped at every restore)', (s) => s.epoch as number);
  return registry;
}
