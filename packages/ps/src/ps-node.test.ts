import { decodeRequest, ErrorCodes, PROTOCOL_VERSION, type PsConfig, psProtocol, tableSpec } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { PsNode } from './ps-node.js';
import { psHandlers } from './ps-server.js';

/**
 * A shard's hot path in one process: frames go through the protocol's decoder and the PS's
 * dispatch table into the node, as they do behind the socket.
 */
const spec = tableSpec({ name: 't', numEmbeddings: 8, embeddingDim: 2 });

function shard(mode: 'asp' | 'bsp', workers = 2): { node: PsNode; send(frame: Record<string, unknown>): Promise<unknown> } {
  const node = new PsNode();
  const config: PsConfig = {
    shard: 0,
    numShards: 1,
    seed: 3,
    tables: [{ spec, optimizer: { kind: 'sgd', lr: 1, weightDecay: 0 } }],
    sync: { mode },
    workers,
    stepTimeoutMs: 5000,
  };
  node.configure(config);
  const handlers = psHandlers(node, () => null) as unknown as Record<string, (req: unknown, conn: unknown) => unknown>;
  let id = 0;
  return {
    node,
    async send(frame) {
      const { type, request } = decodeRequest(psProtocol, 'parameter server', {
        v: PROTOCOL_VERSION,
        id: id++,
        ...frame,
      } as never);
      return handlers[type](request, { connectionId: 1, remoteAddress: 'test', role: 'any' as const });
    },
  };
}

const ids = Float64Array.of(1, 2);
const push = (step: number | undefined, rank: number | undefined, g = 1, extra: Record<string, unknown> = {}) => ({
  type: 'push',
  ...(step === undefined ? {} : { step }),
  ...(rank === undefined ? {} : { rank }),
  tables: [{ table: 't', ids, grads: new Float32Array(4).fill(g), lr: 1, step: 1 }],
  ...extra,
});
const rowsOf = async (s: ReturnType<typeof shard>, extra: Record<string, unknown> = {}) =>
  ((await s.send({ type: 'pull', tables: [{ table: 't', ids }], ...extra })) as { rows: Float32Array[] }).rows[0];

describe('PsNode behind its dispatch table', () => {
  it('BSP: a pull for step t+1 waits until every rank pushed step t, then sees the rank-ordered sum', async () => {
    const s = shard('bsp');
    const before = await rowsOf(s);
    let served: Float32Array | null = null;
    const pull = rowsOf(s, { step: 1 }).then((r) => {
      served = r;
    });
    const first = s.send(push(0, 1, 2));
    await new Promise((r) => setTimeout(r, 10));
    expect(served).toBeNull();
    await Promise.all([first, s.send(push(0, 0, 1)), pull]);
    expect(Array.from(served as unknown as Float32Array)).toEqual(Array.from(before, (v) => Math.fround(v - 3)));
    expect(s.node.appliedSteps).toBe(1);
  });

  it('a push retried with the same (step, rank) is applied once, in ASP and in BSP', async () => {
    for (const mode of ['asp', 'bsp'] as const) {
      const s = shard(mode, 1);
      const before = await rowsOf(s);
      await s.send(push(0, 0));
      const retry = (await s.send(push(0, 0))) as { rowsUpdated: number; duplicate?: boolean };
      expect(retry.rowsUpdated).toBe(0);
      if (mode === 'asp') expect(retry.duplicate).toBe(true);
      expect((await rowsOf(s))[0]).toBeCloseTo(before[0] - 1, 6);
    }
  });

  it('refuses a request from an epoch older than the last restore, with E_STALE_EPOCH', async () => {
    const s = shard('asp');
    await s.send({ type: 'restore', dir: null, manifest: null, epoch: 5 });
    const before = await rowsOf(s);
    await expect(s.send(push(0, 0, 1, { epoch: 4 }))).rejects.toMatchObject({ code: ErrorCodes.STALE_EPOCH });
    await expect(rowsOf(s, { epoch: 4 })).rejects.toMatchObject({ code: ErrorCodes.STALE_EPOCH });
    expect(await rowsOf(s, { epoch: 5 })).toEqual(before);
  });

  it.each([
    ['a NaN step', push(Number.NaN, 0), 'push: step must be a safe non-negative integer, got NaN'],
    ['an infinite step', push(Number.POSITIVE_INFINITY, 0), 'push: step must be a safe non-negative integer, got Infinity'],
    ['a fractional step', push(1.5, 0), 'push: step must be a safe non-negative integer, got 1.5'],
    ['a negative rank', push(0, -1), 'push: rank must be a safe non-negative integer, got -1'],
    ['a rank beyond the job', push(0, 2), 'push: rank must be in [0, 2), got 2'],
    ['a step without a rank', push(0, undefined), 'push: step and rank go together'],
    ['a fractional epoch', push(0, 0, 1, { epoch: 0.5 }), 'push: epoch must be a safe non-negative integer, got 0.5'],
    [
      'a NaN table step',
      { ...push(0, 0), tables: [{ table: 't', ids, grads: new Float32Array(4), lr: 1, step: Number.NaN }] },
      'push: tables[0].step must be a safe integer >= 1, got NaN',
    ],
    [
      'ids of a plain array',
      { ...push(0, 0), tables: [{ table: 't', ids: [1, 2], grads: new Float32Array(4), lr: 1, step: 1 }] },
      'push: tables[0].ids must be a typed array',
    ],
  ])('refuses %s whole, with E_BAD_REQUEST naming the field, and changes nothing', async (_what, frame, message) => {
    for (const mode of ['asp', 'bsp'] as const) {
      const s = shard(mode);
      const before = await rowsOf(s);
      await expect(s.send(frame)).rejects.toMatchObject({
        code: ErrorCodes.BAD_REQUEST,
        message: expect.stringContaining(message),
      });
      // The same rank's next real push is still applied (no step bookkeeping was moved).
      if (mode === 'asp') {
        await s.send(push(0, 0));
        expect((await rowsOf(s))[0]).toBeCloseTo(before[0] - 1, 6);
      } else {
        expect(s.node.appliedSteps).toBe(0);
        expect(await rowsOf(s)).toEqual(before);
      }
    }
  });

  it('refuses a bad part of a push whole: the good part riding along is not applied', async () => {
    const s = shard('asp');
    const before = await rowsOf(s);
    const bad = {
      type: 'push',
      tables: [
        { table: 't', ids, grads: new Float32Array(4).fill(1), lr: 1, step: 1 },
        { table: 't', ids: Float64Array.of(9), grads: new Float32Array(2), lr: 1, step: 1 },
      ],
    };
    await expect(s.send(bad)).rejects.toMatchObject({ code: ErrorCodes.INDEX_OUT_OF_RANGE });
    expect(await rowsOf(s)).toEqual(before);
  });

  it('refuses a field that is no field of the message, even one named like an Object method', async () => {
    const s = shard('asp');
    for (const name of ['constructor', 'toString', 'extra']) {
      await expect(s.send(push(undefined, undefined, 1, { [name]: 1 }))).rejects.toMatchObject({
        code: ErrorCodes.BAD_REQUEST,
        message: expect.stringContaining(`push: ${name} is not a field of this message`),
      });
    }
  });

  it('answers E_SHARD_UNAVAILABLE before it is configured', async () => {
    const node = new PsNode();
    const handlers = psHandlers(node, () => null);
    expect(() => handlers.pull({ tables: [] }, { connectionId: 1, remoteAddress: 'test', role: 'any' as const })).toThrow(
      expect.objectContaining({ code: ErrorCodes.SHARD_UNAVAILABLE }),
    );
  });
});
