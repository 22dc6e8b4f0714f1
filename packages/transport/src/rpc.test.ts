import { once } from 'node:events';
import { defineProtocol, ErrorCodes, type Handlers, message, RowshardError, type Senders, schema } from '@rowshard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { roleCredential } from './auth.js';
import { RpcClient } from './client.js';
import { afterEncode, type ConnectionInfo, RpcServer, type RpcServerOptions } from './server.js';

/** A small protocol of its own, so these tests exercise the transport and nothing else. */
const testProtocol = defineProtocol({
  scale: message({ x: schema.float32Array, k: schema.finite }, { y: schema.float32Array, k: schema.finite }),
  work: message({}, {}),
  hang: message({}, {}),
  fail: message({ how: schema.text }, { ok: schema.bool }),
  which: message({}, { n: schema.uint }),
  /** A control message: only the coordinator may send it. */
  reset: message({}, {}),
});
type TestProtocol = typeof testProtocol;
const testSenders: Senders<TestProtocol> = {
  scale: ['trainer'],
  work: ['trainer'],
  hang: ['trainer'],
  fail: ['trainer'],
  which: ['trainer', 'coordinator'],
  reset: ['coordinator'],
};
const TOKEN = 'rpc-test-cluster-token';

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
    reset: unused,
    ...handlers,
  };
  const server = await RpcServer.listen({
    name: 'test server',
    protocol: testProtocol,
    handlers: all,
    senders: testSenders,
    token: TOKEN,
    ...options,
  });
  servers.push(server);
  return server;
}

function client(
  url: string,
  transport: ConstructorParameters<typeof RpcClient>[0]['transport'] = {},
  token: string | null = roleCredential(TOKEN, 'trainer'),
) {
  const c = new RpcClient({ url, token, protocol: testProtocol, transport });
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

  it("gives a result's lent arrays back once the reply is encoded (afterEncode), returned or resolved", async () => {
    const lent: Float32Array[] = [];
    const lend = (req: { x: Float32Array; k: number }) => {
      const y = Float32Array.from(req.x, (v) => v * req.k);
      return {
        y,
        k: req.k,
        [afterEncode]: () => {
          // The reply holds its own copy by now: the buffer may be reused.
          lent.push(y);
          y.fill(-1);
        },
      };
    };
    const server = await serve({ scale: (req) => (req.k === 2 ? Promise.resolve(lend(req)) : lend(req)) });
    const c = client(server.url);
    const [a, b] = await Promise.all([1, 2].map((k) => c.request('scale', { x: Float32Array.of(1, 2), k })));
    expect(a.y).toEqual(Float32Array.of(1, 2));
    expect(b.y).toEqual(Float32Array.of(2, 4));
    expect(lent.map((y) => [...y])).toEqual([
      [-1, -1],
      [-1, -1],
    ]);
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
      message: "unknown request type 'nope' (the test server serves: scale, work, hang, fail, which, reset)",
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

  it('with reconnectWaitMs, fails a request on a dropped connection that does not come back, long before its deadline', async () => {
    const server = await serve({ which: () => ({ n: 1 }) });
    const c = new RpcClient({
      url: server.url,
      token: roleCredential(TOKEN, 'trainer'),
      protocol: testProtocol,
      transport: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 50 },
      reconnectWaitMs: 100,
    });
    clients.push(c);
    expect((await c.request('which', {})).n).toBe(1);
    const gone = once(c, 'disconnected');
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await gone;
    // The deadline is past the test's own timeout: only reconnectWaitMs can end this wait.
    await expect(c.request('which', {}, 600_000)).rejects.toMatchObject({
      code: ErrorCodes.CONNECTION_CLOSED,
      message: expect.stringContaining('closed and not back within 100 ms'),
    });
  });

  it('refuses a wrong token before any frame with E_UNAUTHORIZED, and does not retry', async () => {
    const server = await serve({});
    const c = client(server.url, {}, 'nope');
    await expect(c.connect()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(c.request('work', {})).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    expect(server.connectionCount).toBe(0);
  });

  it.each([
    ['the cluster token itself (it never travels: only credentials do)', TOKEN],
    ["another cluster's credential", roleCredential('another-cluster-token', 'coordinator')],
    ['a credential relabelled with another role', `coordinator.${roleCredential(TOKEN, 'trainer').split('.')[1]}`],
    ['no credential', null],
  ])('refuses %s at the upgrade (HTTP 401)', async (_what, token) => {
    const server = await serve({});
    await expect(client(server.url, {}, token).connect()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    expect(server.connectionCount).toBe(0);
  });

  it('records the role a credential proves, and refuses a message that role may not send with E_FORBIDDEN, its handler never run', async () => {
    let resets = 0;
    const roles: string[] = [];
    const server = await serve({
      reset: () => {
        resets++;
        return {};
      },
      which: (_req, conn) => {
        roles.push(conn.role);
        return { n: 1 };
      },
    });
    const trainer = client(server.url);
    await expect(trainer.request('reset', {})).rejects.toMatchObject({
      code: ErrorCodes.FORBIDDEN,
      message:
        'reset: the test server takes this message only from the coordinator; this connection authenticated as trainer, so nothing was done',
    });
    expect(resets).toBe(0);
    expect((await trainer.request('which', {})).n).toBe(1); // the connection stays open and usable
    const coordinator = client(server.url, {}, roleCredential(TOKEN, 'coordinator'));
    await coordinator.request('reset', {});
    await coordinator.request('which', {});
    expect(resets).toBe(1);
    expect(roles).toEqual(['trainer', 'coordinator']);
    expect(server.counts().errors).toEqual({ E_FORBIDDEN: 1 });
  });

  it('without a token, every connection is of role any and may send every message', async () => {
    let resets = 0;
    const server = await serve(
      {
        reset: (_req, conn) => {
          expect(conn.role).toBe('any');
          resets++;
          return {};
        },
      },
      { token: null },
    );
    await client(server.url, {}, null).request('reset', {});
    expect(resets).toBe(1);
  });
});
