import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRequest, ErrorCodes, PROTOCOL_VERSION, type PsConfig, psProtocol, tableSpec } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { CheckpointRoot } from './checkpoint-root.js';
import { PsNode } from './ps-node.js';
import { psHandlers } from './ps-server.js';
import { readShardSnapshot } from './snapshot-read.js';

/**
 * A shard's hot path in one process: frames go through the protocol's decoder and the PS's
 * dispatch table into the node, as they do behind the socket.
 */
const spec = tableSpec({ name: 't', numEmbeddings: 8, embeddingDim: 2 });

function shard(
  mode: 'asp' | 'bsp',
  workers = 2,
  checkpointRoot: CheckpointRoot | null = null,
  numShards = 1,
): { node: PsNode; send(frame: Record<string, unknown>): Promise<unknown> } {
  const node = new PsNode(checkpointRoot);
  const config: PsConfig = {
    shard: 0,
    numShards,
    seed: 3,
    tables: [{ spec, optimizer: { kind: 'sgd', lr: 1, weightDecay: 0 } }],
    sync: { mode },
    workers,
    stepTimeoutMs: 5000,
    limits: { maxRows: 4, maxBytes: 1024 },
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

  it('refuses a step ahead of the window a shard expects, leaving its step bookkeeping as it was', async () => {
    // ASP: a rank's next step, or one past it (a restarted trainer resumed by the coordinator).
    const asp = shard('asp', 1);
    const before = await rowsOf(asp);
    await expect(asp.send(push(2, 0))).rejects.toMatchObject({
      code: ErrorCodes.BAD_REQUEST,
      message: expect.stringContaining('push: step 2 of rank 0 is ahead of this shard (its next is step 0)'),
    });
    await expect(asp.send(push(Number.MAX_SAFE_INTEGER, 0))).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    expect(await rowsOf(asp)).toEqual(before);
    expect(await asp.send(push(0, 0))).toEqual({ rowsUpdated: 2 });
    expect(await asp.send(push(2, 0))).toEqual({ rowsUpdated: 2 });
    // BSP: a push or a pull for a step the barrier has not reached.
    const bsp = shard('bsp', 1);
    const rows = await rowsOf(bsp);
    await expect(bsp.send(push(1000, 0))).rejects.toMatchObject({
      code: ErrorCodes.BAD_REQUEST,
      message: expect.stringContaining('push for step 1000 while the barrier is at step 0'),
    });
    await expect(rowsOf(bsp, { step: 2 })).rejects.toMatchObject({
      code: ErrorCodes.BAD_REQUEST,
      message: expect.stringContaining('pull: step 2 is ahead of this shard'),
    });
    expect(bsp.node.appliedSteps).toBe(0);
    expect(await rowsOf(bsp)).toEqual(rows);
    await bsp.send(push(0, 0));
    expect(bsp.node.appliedSteps).toBe(1);
  });

  it('BSP: refuses a pull for a step it already applied with E_STALE_STEP (the rows before that step are gone)', async () => {
    const s = shard('bsp', 1);
    await s.send(push(0, 0));
    const after = await rowsOf(s, { step: 1 });
    await expect(rowsOf(s, { step: 0 })).rejects.toMatchObject({
      code: ErrorCodes.STALE_STEP,
      message: expect.stringContaining('pull: step 0 is already applied on this shard (step 1 is next)'),
    });
    expect(await rowsOf(s, { step: 1 })).toEqual(after);
    expect(s.node.appliedSteps).toBe(1);
  });

  it("BSP: refuses a rank's pull for the next step while that rank's push of the pending step is missing (E_STALE_STEP)", async () => {
    const s = shard('bsp', 2);
    const before = await rowsOf(s);
    // Rank 1 pushed step 0; rank 0's push of it was lost, and rank 0 (a replacement) pulls step 1.
    const held = s.send(push(0, 1));
    held.catch(() => {});
    await expect(rowsOf(s, { step: 1, rank: 0 })).rejects.toMatchObject({
      code: ErrorCodes.STALE_STEP,
      message: expect.stringContaining("pull: rank 0's push of step 0 never reached this shard"),
    });
    await expect(rowsOf(s, { step: 1, rank: 2 })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    expect(s.node.appliedSteps).toBe(0);
    expect(await rowsOf(s)).toEqual(before);
    // Rank 1, whose push is in, waits for the step as before; it completes once rank 0 pushes.
    const waiting = rowsOf(s, { step: 1, rank: 1 });
    await s.send(push(0, 0));
    await held;
    expect(await waiting).toEqual(await rowsOf(s, { step: 1, rank: 0 }));
    expect(s.node.appliedSteps).toBe(1);
  });

  it('refuses a request over the limits with E_TOO_LARGE, before anything happens', async () => {
    const s = shard('asp', 1);
    const before = await rowsOf(s);
    const five = Float64Array.of(0, 1, 2, 3, 4);
    await expect(s.send({ type: 'pull', tables: [{ table: 't', ids: five }] })).rejects.toMatchObject({
      code: ErrorCodes.TOO_LARGE,
      message: expect.stringContaining('pull: 5 rows in one request; the limit is 4 (limits.maxRequestRows)'),
    });
    await expect(
      s.send({ type: 'push', tables: [{ table: 't', ids: five, grads: new Float32Array(10).fill(1), lr: 1, step: 1 }] }),
    ).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
    await expect(
      s.send({
        type: 'push_pull',
        step: 0,
        rank: 0,
        push: [push(0, 0).tables[0]],
        pull: [{ table: 't', ids: Float64Array.of(4, 5, 6) }],
      }),
    ).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE, message: expect.stringContaining('push_pull: 5 rows') });
    expect(await rowsOf(s)).toEqual(before);
  });

  it('a push split into chunks: ASP applies each once on arrival, BSP applies the step once all are in', async () => {
    const piece = (step: number, rank: number, index: number, g: number, row: number) => ({
      type: 'push',
      step,
      rank,
      chunk: { index, count: 2 },
      tables: [{ table: 't', ids: Float64Array.of(row), grads: new Float32Array(2).fill(g), lr: 1, step: 1 }],
    });
    const asp = shard('asp', 1);
    const before = await rowsOf(asp);
    expect(await asp.send(piece(0, 0, 1, 1, 2))).toEqual({ rowsUpdated: 1 });
    expect(await asp.send(piece(0, 0, 1, 1, 2))).toEqual({ rowsUpdated: 0, duplicate: true });
    await expect(asp.send({ ...piece(0, 0, 0, 1, 1), chunk: { index: 0, count: 3 } })).rejects.toMatchObject({
      code: ErrorCodes.BAD_REQUEST,
      message: expect.stringContaining('split step 0 into 2 pieces'),
    });
    expect(await asp.send(piece(0, 0, 0, 1, 1))).toEqual({ rowsUpdated: 1 });
    // The step is complete: a whole push of step 0 is now a duplicate, step 1 is next.
    expect(await asp.send(push(0, 0))).toEqual({ rowsUpdated: 0, duplicate: true });
    expect(Array.from(await rowsOf(asp))).toEqual(Array.from(before, (v) => Math.fround(v - 1)));

    const bsp = shard('bsp', 2);
    const start = await rowsOf(bsp);
    const first = bsp.send(piece(0, 0, 0, 1, 1));
    const second = bsp.send(piece(0, 1, 0, 2, 1));
    await new Promise((r) => setTimeout(r, 10));
    expect(bsp.node.appliedSteps).toBe(0);
    await Promise.all([first, second, bsp.send(piece(0, 1, 1, 2, 2)), bsp.send(piece(0, 0, 1, 1, 2))]);
    expect(bsp.node.appliedSteps).toBe(1);
    expect(Array.from(await rowsOf(bsp))).toEqual(Array.from(start, (v) => Math.fround(v - 3)));
    // A piece of an applied step is answered without effect.
    await bsp.send(piece(0, 0, 1, 5, 2));
    expect(Array.from(await rowsOf(bsp))).toEqual(Array.from(start, (v) => Math.fround(v - 3)));
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

  it("takes pooled parts (bags) where the job pools, BSP's pulls in the id tree's order only, and refuses them in BSP on 3 shards", async () => {
    const bags = { ids: Uint32Array.of(3, 6, 3), bags: Int32Array.of(0, 0, 1), bagCount: 2 }; // shard 0 of 1 and of 3
    const one = shard('bsp', 1);
    const rows = await rowsOf(one, {});
    const [sums] = (
      (await one.send({ type: 'pull', tables: [{ table: 't', ...bags, idTree: true }] })) as { rows: Float32Array[] }
    ).rows;
    expect(sums).toHaveLength(4);
    await expect(one.send({ type: 'pull', tables: [{ table: 't', ...bags }] })).rejects.toMatchObject({
      code: ErrorCodes.BAD_REQUEST,
      message: expect.stringContaining("a BSP job's bags are summed in the id tree's order"),
    });
    const four = shard('bsp', 1, null, 4);
    const fours = { ...bags, ids: Uint32Array.of(4, 0, 4) }; // shard 0 of 4
    await expect(four.send({ type: 'pull', tables: [{ table: 't', ...fours, idTree: true }] })).resolves.toBeDefined();
    const two = shard('bsp', 1, null, 3);
    const refused = {
      code: ErrorCodes.BAD_REQUEST,
      message: expect.stringContaining('this job pulls and pushes rows, not bags'),
    };
    await expect(two.send({ type: 'pull', tables: [{ table: 't', ...bags }] })).rejects.toMatchObject(refused);
    const grads = new Float32Array(4).fill(1);
    await expect(
      two.send({ type: 'push', step: 0, rank: 0, tables: [{ table: 't', ...bags, grads, lr: 1, step: 1 }] }),
    ).rejects.toMatchObject(refused);
    expect(rows).toHaveLength(4);
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

  it('a push that arrives while a snapshot is being written waits for it; pulls are answered meanwhile', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rowshard-psnode-'));
    try {
      const s = shard('asp', 1, new CheckpointRoot(root));
      await s.send(push(0, 0));
      const atCheckpoint = Array.from(await rowsOf(s));
      // The snapshot's writes are asynchronous: the push below arrives before its rows are copied.
      const written = s.send({ type: 'checkpoint', dir: root, step: 1, pushedSteps: [1], epoch: 0 });
      const pushed = s.send(push(1, 0));
      expect(Array.from(await rowsOf(s))).toEqual(atCheckpoint);
      await Promise.all([written, pushed]);
      const file = readShardSnapshot(join(root, 'shard-0.safetensors')).tables[0];
      expect(Array.from(file.weight)).toEqual(atCheckpoint);
      expect((await rowsOf(s))[0]).toBeCloseTo(atCheckpoint[0] - 1, 6);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a checkpoint that waited for a snapshot while a restore came is refused: it would write the restored rows', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rowshard-psnode-'));
    try {
      const s = shard('asp', 1, new CheckpointRoot(root));
      await s.send(push(0, 0));
      const first = s.send({ type: 'checkpoint', dir: root, step: 1, pushedSteps: [1], epoch: 0 });
      // Both wait for the first snapshot's writes; the restore was sent first, so it runs first.
      const restored = s.send({ type: 'restore', dir: null, manifest: null, epoch: 5 });
      const late = s.send({ type: 'checkpoint', dir: root, step: 1, pushedSteps: [1], epoch: 0 });
      await Promise.all([
        first,
        restored,
        expect(late).rejects.toMatchObject({
          code: ErrorCodes.STALE_EPOCH,
          message: 'request from epoch 0; this shard was restored into epoch 5',
        }),
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
