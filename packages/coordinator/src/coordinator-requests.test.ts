import { RpcClient } from '@rowshard/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator } from './coordinator.js';

// A coordinator on a real socket, with no PS or trainer: malformed requests from a peer must
// be refused before they touch per-worker state (a stray rank once counted toward "all done").
describe('coordinator request validation', () => {
  let coordinator: Coordinator;
  let client: RpcClient;

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
    client = new RpcClient({ url: coordinator.url, token: null });
    await client.connect();
  });

  afterAll(async () => {
    await client.close();
    await coordinator.close();
  });

  it.each([
    [{ type: 'worker_done', rank: 2 }, 'worker_done: rank must be an integer in [0, 2), got 2'],
    [{ type: 'worker_done', rank: -1 }, 'worker_done: rank must be an integer in [0, 2), got -1'],
    [{ type: 'worker_done' }, 'worker_done: rank must be an integer in [0, 2), got undefined'],
    [{ type: 'clock_wait', rank: 7, clock: 1 }, 'clock_wait: rank must be an integer in [0, 2), got 7'],
    [{ type: 'clock_wait', rank: 0 }, 'clock_wait needs rank and clock'],
    [
      { type: 'dense_step', rank: 1e9, step: 0, loss: 1, examples: 4, grads: {} },
      'dense_step: rank must be an integer in [0, 2)',
    ],
    [{ type: 'dense_step', rank: 0, step: -3, loss: 1, examples: 4, grads: {} }, 'dense_step needs step (an integer >= 0)'],
  ])('%j is refused: %s', async (request, message) => {
    await expect(client.request(request)).rejects.toMatchObject({
      code: 'E_BAD_REQUEST',
      message: expect.stringContaining(message),
    });
    expect(coordinator.status().workersDone).toBe(0);
  });

  it('an unknown request type is refused and the connection stays usable', async () => {
    await expect(client.request({ type: 'nope' })).rejects.toMatchObject({ code: 'E_BAD_REQUEST' });
    await expect(client.request({ type: 'ping' })).resolves.toEqual(expect.any(Object));
  });
});
