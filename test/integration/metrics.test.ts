import { startLocalCluster } from '@rowshard/cli';
import { describe, expect, it } from 'vitest';

/**
 * /metrics of a finished job on real processes: totals typed as counters, request-latency
 * histograms per message type, the process's own metrics, the epoch as a count of restores,
 * and /sd (Prometheus HTTP service discovery) leading to every shard's /metrics.
 */
describe('metrics of a real cluster', () => {
  it('counters, latency histograms, process metrics, and every shard found through /sd', async () => {
    const cluster = await startLocalCluster({
      job: {
        seed: 2,
        model: { name: 'text_classifier', options: { vocabSize: 300, embeddingDim: 4, hiddenDim: 4, numClasses: 2 } },
        optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
        sync: 'bsp',
        steps: 8,
        batchSize: 16,
        data: { kind: 'synthetic_text', vocabSize: 300, seqLen: 6, numClasses: 2, seed: 3 },
      },
      ps: 2,
      trainers: 1,
      workersPerTrainer: 2,
    });
    try {
      await cluster.result();
      const http = cluster.coordinatorUrl.replace(/^ws:/, 'http:');
      const coordinator = await (await fetch(`${http}/metrics`)).text();
      expect(coordinator).toMatch(/^# TYPE rowshard_examples_total counter$/m);
      expect(coordinator).toMatch(/^rowshard_examples_total 128$/m);
      expect(coordinator).toMatch(/^# TYPE rowshard_recoveries_total counter$/m);
      expect(coordinator).toMatch(/^# TYPE rowshard_coordinator_request_seconds histogram$/m);
      expect(coordinator).toMatch(/^rowshard_coordinator_request_seconds_count\{type="dense_step",outcome="ok"\} 16$/m);
      expect(coordinator).toMatch(/^process_cpu_user_seconds_total /m);
      expect(coordinator).toMatch(/^nodejs_eventloop_lag_seconds /m);
      // The initial restore is the coordinator's first: epoch 1, not a clock reading.
      expect(coordinator).toMatch(/^rowshard_epoch 1$/m);

      expect((await fetch(`${http}/sd`)).status).toBe(401);
      const sd = (await (
        await fetch(`${http}/sd`, { headers: { authorization: `Bearer ${cluster.credential('viewer')}` } })
      ).json()) as { targets: string[]; labels: Record<string, string> }[];
      expect(sd.map((g) => g.labels)).toEqual([
        { job: 'rowshard_ps', shard: '0' },
        { job: 'rowshard_ps', shard: '1' },
      ]);
      for (const group of sd) {
        const shard = await (await fetch(`http://${group.targets[0]}/metrics`)).text();
        expect(shard).toMatch(/^# TYPE rowshard_ps_requests_total counter$/m);
        // BSP on two shards pools the sequence means (the id tree splits over them): each shard answers bags.
        expect(shard).toMatch(/^rowshard_ps_bags_pulled_total\{shard="[01]"\} [1-9]\d*$/m);
        expect(shard).toMatch(/^# TYPE rowshard_ps_request_seconds histogram$/m);
        expect(shard).toMatch(/^rowshard_ps_request_seconds_count\{type="push_pull",outcome="ok"\} \d+$/m);
        expect(shard).toMatch(/^process_resident_memory_bytes /m);
      }
    } finally {
      await cluster.stop();
    }
  }, 120_000);
});
