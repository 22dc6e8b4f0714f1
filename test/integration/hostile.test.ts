import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster } from '@rowshard/cli';
import { coordinatorProtocol, type PsProtocol, psProtocol } from '@rowshard/core';
import { type PsCluster, startPsProcesses } from '@rowshard/testkit';
import { FrameCodec, RpcClient, roleCredential } from '@rowshard/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/**
 * A hostile peer against a real parameter-server process (packages/ps/dist/main.js), one
 * request kind at a time: each is refused with its typed error, the process stays up, and
 * every row is byte for byte what it was before.
 */
const TOKEN = 'hostile-suite-token-0123456789';
/** The peer holds a trainer's credential; control messages need the coordinator's. */
const TRAINER = roleCredential(TOKEN, 'trainer');
const COORDINATOR = roleCredential(TOKEN, 'coordinator');
const tables = [
  { spec: { name: 'small', numEmbeddings: 64, embeddingDim: 4 }, optimizer: { kind: 'sparse_adam', lr: 0.1 } },
  { spec: { name: 'plain', numEmbeddings: 64, embeddingDim: 4 }, optimizer: { kind: 'sgd', lr: 10 } },
  { spec: { name: 'wide', numEmbeddings: 40_000, embeddingDim: 64 }, optimizer: { kind: 'sgd', lr: 0.1 } },
];
const every = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

describe('a hostile peer against a parameter server process', () => {
  let cluster: PsCluster;
  let peer: RpcClient<PsProtocol>;
  let control: RpcClient<PsProtocol>;
  const root = mkdtempSync(join(tmpdir(), 'rowshard-hostile-'));
  let nextStep = 0;

  /** Every row of the small tables, as bytes. */
  async function snapshot(): Promise<Buffer> {
    const { rows } = await peer.request('pull', {
      tables: [
        { table: 'small', ids: every(64) },
        { table: 'plain', ids: every(64) },
      ],
    });
    return Buffer.concat(rows.map((r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength)));
  }

  async function refused(request: () => Promise<unknown>, code: string, message: string): Promise<void> {
    const before = await snapshot();
    await expect(request()).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
    expect(await peer.request('ping', {})).toEqual({});
    expect((await snapshot()).equals(before)).toBe(true);
  }

  const push = (body: Record<string, unknown>, grads = 0.5, lr = 0.1, table = 'small') =>
    peer.request('push', {
      tables: [{ table, ids: Uint32Array.of(3, 9), grads: new Float32Array(8).fill(grads), lr, step: 1 }],
      ...body,
    } as never);

  beforeAll(async () => {
    cluster = await startPsProcesses({
      numShards: 1,
      seed: 5,
      tables,
      token: TOKEN,
      checkpointRoot: root,
      nodeArgs: ['--expose-gc'],
    });
    peer = new RpcClient({ url: cluster.urls[0], token: TRAINER, protocol: psProtocol });
    control = new RpcClient({ url: cluster.urls[0], token: COORDINATOR, protocol: psProtocol });
    await Promise.all([peer.connect(), control.connect()]);
    // Rank 0 has pushed step 0: its next is step 1.
    await push({ step: 0, rank: 0 });
    nextStep = 1;
  });
  afterAll(async () => {
    await peer?.close();
    await control?.close();
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it.each([
    [
      'step Infinity',
      { step: Number.POSITIVE_INFINITY, rank: 0 },
      'E_BAD_REQUEST',
      'push: step must be a safe non-negative integer',
    ],
    ['step NaN', { step: Number.NaN, rank: 0 }, 'E_BAD_REQUEST', 'push: step must be a safe non-negative integer'],
    ['step -1', { step: -1, rank: 0 }, 'E_BAD_REQUEST', 'push: step must be a safe non-negative integer'],
    ['step 2^53', { step: 2 ** 53, rank: 0 }, 'E_BAD_REQUEST', 'push: step must be a safe non-negative integer'],
    ['a step far ahead', { step: 1000, rank: 0 }, 'E_BAD_REQUEST', 'push: step 1000 of rank 0 is ahead of this shard'],
    ['a fractional rank', { step: 1, rank: 0.5 }, 'E_BAD_REQUEST', 'push: rank must be a safe non-negative integer'],
    [
      'an epoch of NaN',
      { step: 1, rank: 0, epoch: Number.NaN },
      'E_BAD_REQUEST',
      'push: epoch must be a safe non-negative integer',
    ],
  ])('1. a push with %s is refused and moves no step bookkeeping', async (_what, body, code, message) => {
    await refused(() => push(body), code, message);
    // The rank's real next step still applies (its count was not moved), once.
    const before = await snapshot();
    expect(await push({ step: nextStep, rank: 0 })).toEqual({ rowsUpdated: 2 });
    expect((await snapshot()).equals(before)).toBe(false);
    expect(await push({ step: nextStep, rank: 0 })).toEqual({ rowsUpdated: 0, duplicate: true });
    nextStep++;
  });

  it('2. a finite gradient whose update overflows a row is refused whole, with the good part beside it', async () => {
    await refused(
      () =>
        peer.request('push', {
          tables: [
            { table: 'small', ids: Uint32Array.of(1), grads: new Float32Array(4).fill(0.5), lr: 0.1, step: 1 },
            { table: 'plain', ids: Uint32Array.of(2), grads: new Float32Array(4).fill(3e38), lr: 10, step: 1 },
          ],
        }),
      'E_BAD_GRADIENT',
      "table 'plain': the update of row 2 makes its weights or optimizer state non-finite",
    );
  });

  it('3. a pull of a million ids is refused at once (E_TOO_LARGE), and the shard stays responsive', async () => {
    await refused(
      () => peer.request('pull', { tables: [{ table: 'wide', ids: every(1_000_000).map((i) => i % 40_000) }] }),
      'E_TOO_LARGE',
      'pull: 1000000 rows in one request; the limit is 32768',
    );
    // Within the row limit but over the bytes of rows one request may ask for (64 floats a row).
    await refused(
      () =>
        peer.request('pull', {
          tables: [
            { table: 'wide', ids: every(32_768) },
            { table: 'wide', ids: every(100) },
          ],
        }),
      'E_TOO_LARGE',
      'pull: 32868 rows in one request',
    );
  });

  it('4. a peer that sends pulls and never reads the replies is throttled, then dropped; its memory comes back', async () => {
    const memory = async () => {
      const { memory } = await peer.request('stats', { gc: true });
      return memory.arrayBuffers;
    };
    const idle = await memory();
    const ws = new WebSocket(cluster.urls[0], { headers: { authorization: `Bearer ${TRAINER}` }, perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.on('error', () => {});
    ws.pause(); // reads nothing from here on: replies, pings
    const codec = new FrameCodec();
    // 100 pulls of 8 MiB of rows each: 800 MiB of replies if the server queued them all.
    for (let i = 0; i < 100; i++) {
      const { frame } = codec.encode({ v: 1, id: i, type: 'pull', tables: [{ table: 'wide', ids: every(32_768) }] });
      ws.send(frame);
    }
    await new Promise((r) => setTimeout(r, 1500));
    const held = (await memory()) - idle;
    // Stopped reading past 64 MiB unsent (the default cap), plus the replies in flight.
    expect(held).toBeLessThan(200 * 1024 * 1024);
    // A paused peer answers no ping: dropped within two heartbeats (2 s each), its replies
    // freed; what stays is the reuse pools, at most 32 MiB of frames and 32 MiB of row buffers.
    // (Polled: on a loaded machine the heartbeat's timers run late.)
    let after = held;
    for (let i = 0; i < 40 && after >= 72 * 1024 * 1024; i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = (await memory()) - idle;
    }
    expect(after).toBeLessThan(72 * 1024 * 1024);
    expect(await peer.request('ping', {})).toEqual({});
    ws.terminate();
  }, 40_000);

  it('7. a restore naming a missing shard file leaves every row as it was (E_BAD_CHECKPOINT)', async () => {
    const manifest = {
      format: 'rowshard-checkpoint/1',
      step: 1,
      createdAt: '1970-01-01T00:00:00.000Z',
      seed: 5,
      numShards: 1,
      tables: [],
      shards: [{ shard: 0, file: 'shard-0.safetensors', bytes: 10, sha256: 'x', rows: {} }],
      dense: { file: 'dense.safetensors', bytes: 0, sha256: '' },
      totalBytes: 10,
      durationMs: 0,
    };
    await refused(
      () => control.request('restore', { dir: join(root, 'step-00000001'), manifest: manifest as never, epoch: 0 }),
      'E_BAD_CHECKPOINT',
      'shard-0.safetensors: cannot be read (ENOENT)',
    );
  });

  /** Sends one raw frame on a connection of its own: the server's reply, or the close code. */
  async function rawFrame(send: (ws: WebSocket) => void, token = TRAINER): Promise<{ close: number } | { reply: unknown }> {
    const ws = new WebSocket(cluster.urls[0], { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    ws.on('error', () => {});
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    const outcome = new Promise<{ close: number } | { reply: unknown }>((resolve) => {
      ws.once('message', (data) => resolve({ reply: new FrameCodec().decode(data as Buffer) }));
      ws.once('close', (code) => resolve({ close: code }));
    });
    send(ws);
    const result = await outcome;
    ws.terminate();
    return result;
  }

  const header = (bytes: Buffer) => {
    const frame = Buffer.alloc(4 + bytes.length);
    frame.writeUInt32LE(bytes.length, 0);
    bytes.copy(frame, 4);
    return frame;
  };
  const pullFrame = new FrameCodec().encode({ v: 1, id: 1, type: 'pull', tables: [{ table: 'small', ids: every(4) }] }).frame;
  const pullHeader = pullFrame.subarray(4, 4 + pullFrame.readUInt32LE(0));

  it.each([
    ['truncated msgpack', () => header(pullHeader.subarray(0, pullHeader.length - 5)), 1007],
    ['100k-deep nesting', () => header(Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0xc0])])), 1007],
    ['an unknown msgpack extension', () => header(Buffer.from([0x81, 0xa1, 0x76, 0xd4, 0x7f, 0x00])), 1007],
    [
      'an array reference past the frame',
      () => header(Buffer.from(pullHeader.toString('latin1').replace('~ta', '~ta'), 'latin1')).subarray(0, 12),
      1007,
    ],
    ['a header length past the frame', () => Buffer.from([0xff, 0xff, 0x00, 0x00, 0x80]), 1007],
    ['a text frame', () => 'pull', 1003],
  ])('a frame with %s closes only its own connection, with code %s', async (_what, frame, code) => {
    const before = await snapshot();
    expect(await rawFrame((ws) => ws.send(frame()))).toEqual({ close: code });
    expect(await peer.request('ping', {})).toEqual({});
    expect((await snapshot()).equals(before)).toBe(true);
  });

  it('an oversized frame, and a flood of fragments adding up past the limit, close only their own connection (1009)', async () => {
    const before = await snapshot();
    // The server closes with 1009; a client still writing when the socket goes may see its
    // own abnormal closure (1006) instead. Either way only this connection ends.
    const closedBySize = expect.objectContaining({ close: expect.toBeOneOf([1009, 1006]) });
    expect(await rawFrame((ws) => ws.send(Buffer.alloc(300 << 20)))).toEqual(closedBySize);
    const flood = await rawFrame((ws) => {
      const fragment = Buffer.alloc(1 << 20);
      for (let i = 0; i < 300; i++) ws.send(fragment, { fin: false, binary: true });
    });
    expect(flood).toEqual(closedBySize);
    expect(await peer.request('ping', {})).toEqual({});
    expect((await snapshot()).equals(before)).toBe(true);
  });

  it('a __proto__ key is no field of any message: refused with E_BAD_REQUEST, nothing polluted', async () => {
    const before = await snapshot();
    // { v: 1, id: 9, type: 'ping', __proto__: { polluted: true } }, written byte by byte (an
    // object literal would set the prototype instead of sending the key).
    const map = Buffer.concat([
      Buffer.from([0x84, 0xa1, 0x76, 0x01, 0xa2, 0x69, 0x64, 0x09, 0xa4]),
      Buffer.from('type'),
      Buffer.from([0xa4]),
      Buffer.from('ping'),
      Buffer.from([0xa9]),
      Buffer.from('__proto__'),
      Buffer.from([0x81, 0xa8]),
      Buffer.from('polluted'),
      Buffer.from([0xc3]),
    ]);
    const frame = header(map);
    const outcome = (await rawFrame((ws) => ws.send(frame))) as { reply: { error?: { code: string; message: string } } };
    expect(outcome.reply.error).toMatchObject({
      code: 'E_BAD_REQUEST',
      message: expect.stringContaining('is not a field of this message'),
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await snapshot()).equals(before)).toBe(true);
  });

  it.each([
    [
      'an id out of range',
      { table: 'small', ids: Uint32Array.of(3, 64), grads: new Float32Array(8), lr: 0.1, step: 1 },
      'E_INDEX_OUT_OF_RANGE',
    ],
    [
      'a NaN gradient',
      { table: 'small', ids: Uint32Array.of(3, 9), grads: new Float32Array(8).fill(Number.NaN), lr: 0.1, step: 1 },
      'E_BAD_GRADIENT',
    ],
    [
      'a gradient of the wrong length',
      { table: 'small', ids: Uint32Array.of(3, 9), grads: new Float32Array(7), lr: 0.1, step: 1 },
      'E_BAD_REQUEST',
    ],
    [
      'an unknown table',
      { table: 'nope', ids: Uint32Array.of(3), grads: new Float32Array(4), lr: 0.1, step: 1 },
      'E_UNKNOWN_TABLE',
    ],
  ])('a push with %s is refused whole', async (_what, part, code) => {
    await refused(() => peer.request('push', { tables: [part] }), code, '');
  });

  it('wrong credentials are refused at the upgrade (HTTP 401); a trainer may not send control messages (E_FORBIDDEN)', async () => {
    for (const token of ['wrong', TOKEN, roleCredential('another-cluster-token-0123456', 'trainer')]) {
      await expect(rawFrame((ws) => ws.send(pullFrame), token)).rejects.toThrow('HTTP 401');
    }
    await refused(
      () => peer.request('load', { tables: [{ table: 'small', ids: Uint32Array.of(1), rows: new Float32Array(4) }] }),
      'E_FORBIDDEN',
      '',
    );
  });

  it('500 idle connections do not stop it serving', async () => {
    const idle = await Promise.all(
      Array.from({ length: 500 }, async () => {
        const ws = new WebSocket(cluster.urls[0], { headers: { authorization: `Bearer ${TRAINER}` }, perMessageDeflate: false });
        ws.on('error', () => {});
        await new Promise((resolve) => ws.once('open', resolve));
        return ws;
      }),
    );
    const before = await snapshot();
    expect(await peer.request('ping', {})).toEqual({});
    expect((await snapshot()).equals(before)).toBe(true);
    for (const ws of idle) ws.terminate();
  });
});

describe('a hostile trainer against a running coordinator process', () => {
  const job = {
    seed: 3,
    model: { name: 'text_classifier', options: { vocabSize: 500, embeddingDim: 8, hiddenDim: 8, numClasses: 3 } },
    optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
    sync: 'bsp',
    steps: 30,
    batchSize: 32,
    data: { kind: 'synthetic_text', vocabSize: 500, seqLen: 8, numClasses: 3, seed: 4 },
    // Slow enough that the requests below land while the job runs.
    debug: { slowRanks: { '0': 40 } },
  };
  const sizes = { ps: 1, trainers: 1, workersPerTrainer: 2 };

  it('refuses bad step numbers and messages of other roles, and the job ends as a clean run does', async () => {
    const clean = await startLocalCluster({ job, ...sizes });
    const cleanResult = await clean.result().finally(() => clean.stop());
    const cluster = await startLocalCluster({ job, ...sizes });
    try {
      const trainer = new RpcClient({
        url: cluster.coordinatorUrl,
        token: cluster.credential('trainer'),
        protocol: coordinatorProtocol,
      });
      await trainer.connect();
      const denseStep = (step: number) =>
        trainer.request('dense_step', { rank: 0, step, grads: {}, loss: 1, examples: 16 } as never);
      await expect(denseStep(1_000_000)).rejects.toMatchObject({
        code: 'E_BAD_REQUEST',
        message: expect.stringContaining('step 1000000'),
      });
      await expect(denseStep(Number.NaN)).rejects.toMatchObject({
        code: 'E_BAD_REQUEST',
        message: expect.stringContaining('dense_step: step must be a safe non-negative integer, got NaN'),
      });
      await expect(denseStep(Number.POSITIVE_INFINITY)).rejects.toMatchObject({ code: 'E_BAD_REQUEST' });
      await expect(trainer.request('clock_wait', { rank: 0, clock: -1 } as never)).rejects.toMatchObject({
        code: 'E_BAD_REQUEST',
      });
      await expect(trainer.request('register_ps', { url: 'ws://127.0.0.1:1', shard: 0, name: 'evil' })).rejects.toMatchObject({
        code: 'E_FORBIDDEN',
      });
      await trainer.close();
      const result = await cluster.result();
      expect(result.losses).toEqual(cleanResult.losses);
      for (const [name, values] of Object.entries(cleanResult.denseParams)) expect(result.denseParams[name]).toEqual(values);
    } finally {
      await cluster.stop();
    }
  }, 120_000);
});
