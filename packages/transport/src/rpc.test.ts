import { once } from 'node:events';
import { ErrorCodes, RowshardError } from '@rowshard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient } from './client.js';
import { RpcServer } from './server.js';

const servers: RpcServer[] = [];
const clients: RpcClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: (req: never) => unknown, options: Partial<Parameters<typeof RpcServer.listen>[0]> = {}) {
  const server = await RpcServer.listen({ token: 'tok', handler, ...options } as Parameters<typeof RpcServer.listen>[0]);
  servers.push(server);
  return server;
}

function client(url: string, transport: ConstructorParameters<typeof RpcClient>[0]['transport'] = {}) {
  const c = new RpcClient({ url, token: 'tok', transport });
  clients.push(c);
  return c;
}

describe('RpcServer and RpcClient', () => {
  it('round-trips typed arrays and matches responses by id', async () => {
    const server = await serve((req: { x: Float32Array; k: number }) => ({ y: req.x.map((v) => v * req.k), k: req.k }));
    const c = client(server.url);
    const replies = await Promise.all([1, 2, 3].map((k) => c.request({ type: 'scale', x: Float32Array.of(1, 2), k })));
    expect(replies.map((r) => r.k)).toEqual([1, 2, 3]);
    expect(replies[2].y).toEqual(Float32Array.of(3, 6));
    expect(replies[2].y).toBeInstanceOf(Float32Array);
  });

  it('keeps at most maxInFlight requests on the wire and refuses beyond maxQueued', async () => {
    let active = 0;
    let peak = 0;
    const server = await serve(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      return {};
    });
    const c = client(server.url, { maxInFlight: 2, maxQueued: 3 });
    await c.connect();
    const sent = Array.from({ length: 5 }, () => c.request({ type: 'work' }));
    const refused = c.request({ type: 'work' });
    await expect(refused).rejects.toMatchObject({ code: ErrorCodes.OVERLOADED });
    await Promise.all(sent);
    expect(peak).toBe(2);
  });

  it('times out a request that gets no answer, with a typed error', async () => {
    const server = await serve(() => new Promise(() => {}));
    const c = client(server.url);
    await expect(c.request({ type: 'hang' }, 100)).rejects.toMatchObject({
      code: ErrorCodes.TIMEOUT,
      message: expect.stringContaining('hang'),
    });
  });

  it('turns handler errors into typed error responses and stays up', async () => {
    const server = await serve((req: { type: string }) => {
      if (req.type === 'bad') throw new RowshardError(ErrorCodes.BAD_REQUEST, 'no', { field: 'x' });
      if (req.type === 'bug') throw new TypeError('oops');
      return { ok: true };
    });
    const c = client(server.url);
    await expect(c.request({ type: 'bad' })).rejects.toMatchObject({ code: 'E_BAD_REQUEST', details: { field: 'x' } });
    await expect(c.request({ type: 'bug' })).rejects.toMatchObject({ code: 'E_INTERNAL', message: 'internal error: oops' });
    expect((await c.request({ type: 'fine' })).ok).toBe(true);
  });

  it('reconnects with backoff after the server restarts, failing only the requests in flight', async () => {
    let server = await serve(() => ({ n: 1 }));
    const port = server.port;
    const c = client(server.url, { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 });
    expect((await c.request({ type: 'a' })).n).toBe(1);
    const gone = once(c, 'disconnected');
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await gone;
    const during = c.request({ type: 'b' }, 5000); // waits for the new connection
    server = await serve(() => ({ n: 2 }), { port });
    expect((await during).n).toBe(2);
  });

  it('refuses a wrong token before any frame with E_UNAUTHORIZED, and does not retry', async () => {
    const server = await serve(() => ({}));
    const c = new RpcClient({ url: server.url, token: 'nope' });
    clients.push(c);
    await expect(c.connect()).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(c.request({ type: 'x' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    expect(server.connectionCount).toBe(0);
  });
});
