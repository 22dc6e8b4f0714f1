import { once } from 'node:events';
import { defineProtocol, ErrorCodes, type Handlers, message, RowshardError, schema } from '@rowshard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient } from './client.js';
import { type ConnectionInfo, RpcServer, type RpcServerOptions } from './server.js';

/** A small protocol of its own, so these tests exercise the transport and nothing else. */
const testProtocol = defineProtocol({
  scale: message({ x: schema.float32Array, k: schema.finite }, { y: schema.float32Array, k: schema.finite }),
  work: message({}, {}),
  hang: message({}, {}),
  fail: message({ how: schema.text }, { ok: schema.bool }),
  which: message({}, { n: schema.uint }),
});
type TestProtocol = typeof testProtocol;

const servers: RpcServer<TestProtocol>[] = [];
const clients: RpcClient<TestProtocol>[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const unused = () => {
  throw new Error('not used in this test');
};

async function serve(
  handlers: Partial<Handlers<TestProtocol, ConnectionInfo>>,
  options: Partial<RpcServerOptions<TestProtocol>> = {},
) {
  const all: Handlers<TestProtocol, ConnectionInfo> = {
    scale: unused,
    work: unused,
    hang: unused,
    fail: unused,
    which: unused,
    ...handlers,
  };
  const server = await RpcServer.listen({ name: 'test server', protocol: testProtocol, handlers: all, token: 'tok', ...options });
  servers.push(server);
  return server;
}

function client(url: string, transport: ConstructorParameters<typeof RpcClient>[0]['transport'] = {}) {
  const c = new RpcClient({ url, token: 'tok', protocol: testProtocol, transport });
  clients.push(c);
  return c;
}

describe('RpcServer and RpcClient', () => {
  it('round-trips typed arrays and matches responses by id', async () => {
    const server = await serve({ scale: (req) => ({ y: req.x.map((v) => v * req.k), k: req.k }) });
    const c = client(server.url);
    const replies = await Promise.all([1, 2, 3].map((k) => c.request('scale', { x: Float32Array.of(1, 2), k })));
    expect(replies.map((r) => r.k)).toEqual([1, 2, 3]);
    expect(replies[2].y).toEqual(Float32Array.of(3, 6));
    expect(replies[2].y).toBeInstanceOf(Float32Array);
  });

  it('keeps at most maxInFlight requests on the wire and refuses beyond maxQueued', async () => {
    let active = 0;
    let peak = 0;
    const server = await serve({
      work: async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        return {};
      },
    });
    const c = client(server.url, { maxInFlight: 2, maxQueued: 3 });
    await c.connect();
    const sent = Array.from({ length: 5 }, () => c.request('work', {}));
    const refused = c.request('work', {});
    await expect(refused).rejects.toMatchObject({ code: ErrorCodes.OVERLOADED });
    await Promise.all(sent);
    expect(peak).toBe(2);
  });

  it('times out a request that gets no answer, with a typed error', async () => {
    const server = await serve({ hang: () => new Promise(() => {}) });
    const c = client(server.url);
    await expect(c.request('hang', {}, 100)).rejects.toMatchObject({
      code: ErrorCodes.TIMEOUT,
      message: expect.stringContaining('hang'),
    });
  });

  it('turns handler errors into typed error responses, counts them, and stays up', async () => {
    const server = await serve({
      fail: (req) => {
        if (req.how === 'bad') throw new RowshardError(ErrorCodes.BAD_REQUEST, 'no', { field: 'x' });
        if (req.how === 'bug') throw new TypeError('oops');
        return { ok: true };
      },
    });
    const c = client(server.url);
    await expect(c.request('fail', { how: 'bad' })).rejects.toMatchObject({ code: 'E_BAD_REQUEST', details: { field: 'x' } });
    await expect(c.request('fail', { how: 'bug' })).rejects.toMatchObject({
      code: 'E_INTERNAL',
      message: 'internal error: oops',
    });
    expect((await c.request('fail', { how: 'fine' })).ok).toBe(true);
    expect(server.counts()).toEqual({ requests: { fail: 3 }, errors: { E_BAD_REQUEST: 1, E_INTERNAL: 1 } });
  });

  it('refuses a malformed request before its handler runs, naming the message and the field', async () => {
    let ran = 0;
    const server = await serve({
      scale: (req) => {
        ran++;
        return { y: req.x, k: req.k };
      },
    });
    const c = client(server.url);
    // Deliberately malformed bodies, as a faulty or hostile peer would send them.
    await expect(c.request('scale', { x: [1, 2], k: 1 } as never)).rejects.toMatchObject({
      code: 'E_BAD_REQUEST',
      message: 'scale: x must be a Float32Array, got an array of 2',
      details: { message: 'scale', field: 'x' },
    });
    await expect(c.request('scale', { x: Float32Array.of(1), k: Number.NaN })).rejects.toMatchObject({
      message: 'scale: k must be a finite number, got NaN',
    });
    await expect(c.request('scale', { x: Float32Array.of(1), k: 1, extra: 1 } as never)).rejects.toMatchObject({
      message: expect.stringContaining('scale: extra is not a field of this message'),
    });
    await expect(c.request('nope' as never, {} as never)).rejects.toMatchObject({
      code: 'E_BAD_REQUEST',
      message: "unknown request type 'nope' (the test server serves: scale, work, hang, fail, which)",
    });
    expect(ran).toBe(0);
  });

  it('refuses a reply that does not match the protocol with E_BAD_REPLY', async () => {
    const server = await serve({ which: () => ({ n: -1 }) });
    const c = client(server.url);
    await expect(c.request('which', {})).rejects.toMatchObject({
      code: 'E_BAD_REPLY',
      message: 'reply to which: n must be a safe non-negative integer, got -1',
    });
  });

  it('reconnects with backoff after the server restarts, failing only the requests in flight', async () => {
    let server = await serve({ which: () => ({ n: 1 }) });
    const port = server.port;
    const c = client(server.url, { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 });
    expect((await c.request('which', {})).n).toBe(1);
    const gone = once(c, 'disconnected');
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await gone;
    const during = c.request('which', {}, 5000); // waits for the new connection
    server = await serve({ which: () => ({ n: 2 }) }, { port });
    expect((await during).n).toBe(2);
  });

  it('refuses a wrong token before any frame with E_UNAUTHORIZED, and does not retry', async () => {
    const server = await serve({});
    const c = new RpcClient({ url: server.url, token: 'nope', protocol: testProtocol });
    clients.push(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(c.request('work', {})).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    expect(server.connectionCount).toBe(0);
  });
});
