import { type CoordinatorProtocol, coordinatorProtocol } from '@rowshard/core';
import { RpcClient } from '@rowshard/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator } from './coordinator.js';

// A coordinator on a real socket, with no PS or trainer: malformed requests from a peer must
// be refused before they touch per-worker state (a stray rank once counted toward "all done").
describe('coordinator request validation', () => {
  let coordinator: Coordinator;
  let client: RpcClient<CoordinatorProtocol>;

  beforeAll(async () => {
    coordinator = await Coordinator.start({
      job: {
        seed: 1,
        model: { name: 'text_classifier', options: { vocabSize: 50, embeddingDim: 4, hiddenDim: 4, numClasses: 2 } },
        optimizers: { embeddings: { kind: 'sgd', lr: 0.1 }, dense: { kind: 'sgd', lr: 0.1 } },
        sync: 'asp',
        steps: 2,
        batchSize: 4,
        cluster: { ps: 1, trainers: 1, workersPerTrainer: 2 },
        data: { kind: 'synthetic_text', vocabSize: 50, seqLen: 4, numClasses: 2, seed: 1 },
      },
      host: '127.0.0.1',
      port: 0,
      token: null,
      importModule: () => Promise.reject(new Error('no modules in this test')),
      readJson: () => ({}),
    });
    client = new RpcClient({ url: coordinator.url, token: null, protocol: coordinatorProtocol });
    await client.connect();
  });

  afterAll(async () => {
    await client.close();
    await coordinator.close();
  });

  it.each([
    ['worker_done', { rank: 2, steps: 2 }, 'worker_done: rank must be an integer in [0, 2), got 2'],
    ['worker_done', { rank: -1, steps: 2 }, 'worker_done: rank must be a safe non-negative integer, got -1'],
    ['worker_done', { steps: 2 }, 'worker_done: rank is required (a safe non-negative integer)'],
    ['clock_wait', { rank: 7, clock: 1 }, 'clock_wait: rank must be an integer in [0, 2), got 7'],
    ['clock_wait', { rank: 0 }, 'clock_wait: clock is required'],
    ['clock_wait', { rank: 0, clock: 1.5 }, 'clock_wait: clock must be a safe non-negative integer, got 1.5'],
    ['dense_step', { rank: 1e9, step: 0, loss: 1, examples: 4, grads: {} }, 'dense_step: rank must be an integer in [0, 2)'],
    [
      'dense_step',
      { rank: 0, step: -3, loss: 1, examples: 4, grads: {} },
      'dense_step: step must be a safe non-negative integer, got -3',
    ],
    [
      'dense_step',
      { rank: 0, step: Number.NaN, loss: 1, examples: 4, grads: {} },
      'dense_step: step must be a safe non-negative integer, got NaN',
    ],
    [
      'dense_step',
      { rank: 0, step: Infinity, loss: 1, examples: 4, grads: {} },
      'dense_step: step must be a safe non-negative integer, got Infinity',
    ],
    ['dense_step', { rank: 0, step: 0, loss: 1, examples: 4, grads: { w: [1] } }, 'dense_step: grads.w must be a Float32Array'],
    ['eval_report', { step: 0, examples: 1, loss: 1 }, 'eval_report: accuracy is required'],
    ['register_ps', { url: 'ws://x', shard: 2 ** 60, name: null }, 'register_ps: shard must be a safe non-negative integer'],
  ] as const)('%s %j is refused: %s', async (type, body, message) => {
    // Deliberately malformed bodies, as a faulty or hostile peer would send them.
    await expect(client.request(type, body as never)).rejects.toMatchObject({
      code: 'E_BAD_REQUEST',
      message: expect.stringContaining(message),
    });
    expect(coordinator.status().workersDone).toBe(0);
  });

  it('an eval report while the job is not running is refused and not recorded', async () => {
    await expect(client.request('eval_report', { step: 1, epoch: 0, examples: 4, loss: 1, accuracy: 0.5 })).rejects.toMatchObject(
      {
        code: 'E_PAUSED',
      },
    );
    expect(coordinator.status().evals).toEqual([]);
  });

  it('an unknown request type is refused and the connection stays usable', async () => {
    await expect(client.request('nope' as never, {} as never)).rejects.toMatchObject({
      code: 'E_BAD_REQUEST',
      message: expect.stringContaining("unknown request type 'nope' (the coordinator serves: register_ps, ps_ready"),
    });
    await expect(client.request('ping', {})).resolves.toEqual({});
  });
});
