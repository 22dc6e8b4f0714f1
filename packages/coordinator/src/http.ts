import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, type ClusterAuth } from '@rowshard/transport';
import type { Registry } from 'prom-client';
import { dashboardHtml, loginHtml } from './dashboard.js';
import type { CoordinatorStatus } from './status.js';

/** The dashboard's session cookie: it holds the viewer credential, never the cluster token. */
export const sessionCookie = 'rowshard_session';

/** A login form is a token and a little framing; anything longer is not one. */
const maxLoginBytes = 4096;

/**
 * Plain HTTP beside the coordinator's WebSocket RPC (same port): /metrics (Prometheus) and
 * /healthz, always open (a scraper or a health check has no credential, and neither shows the
 * cluster's layout), and with the dashboard enabled / and /api/status, which list shard
 * addresses, ranks and losses. With a cluster token those two need a credential: a role
 * credential as `Authorization: Bearer` (`rowshard token --role viewer` for curl), or the
 * session cookie that POST /login sets when a browser gives the login form the cluster token
 * or a role credential. Without a token (loopback only) they are open. /sd (Prometheus HTTP
 * service discovery of the shards' /metrics) needs the same credential.
 */
export function coordinatorHttpHandler(options: {
  dashboard: boolean;
  auth: ClusterAuth | null;
  status: () => CoordinatorStatus;
  metrics: Registry;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { auth } = options;
  const signedIn = (req: IncomingMessage) =>
    auth === null || auth.roleOf(bearerToken(req)) !== null || auth.roleOf(cookie(req, sessionCookie)) !== null;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const login = options.dashboard && auth !== null && path === '/login';
    const method = login ? 'POST' : 'GET';
    if (req.method !== method) {
      res.writeHead(405, { allow: method }).end();
      return;
    }
    if (path === '/metrics') {
      options.metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.contentType }).end(text),
        (e: Error) => res.writeHead(500).end(e.message),
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (login && auth) {
      readForm(req, res, (form) => {
        if (auth.accepts(form.get('token'))) {
          res
            .writeHead(303, {
              location: '/',
              'set-cookie': `${sessionCookie}=${auth.credential('viewer')}; Path=/; HttpOnly; SameSite=Strict`,
              'cache-control': 'no-store',
            })
            .end();
        } else {
          page(res, 401, loginHtml('That is not the cluster token or a credential of it.'));
        }
      });
      return;
    }
    if (options.dashboard && path === '/') {
      if (signedIn(req)) page(res, 200, dashboardHtml);
      else page(res, 401, loginHtml(''));
      return;
    }
    if (options.dashboard && path === '/api/status') {
      if (!signedIn(req)) unauthorized(res, 'the status lists the cluster');
      else json(res, options.status());
      return;
    }
    if (path === '/sd') {
      // Prometheus HTTP service discovery (http_sd_configs): every shard's /metrics, which
      // `rowshard train` serves on ports of its choosing. Addresses: behind a credential.
      if (!signedIn(req)) unauthorized(res, 'service discovery lists the shards');
      else json(res, shardTargets(options.status().shards));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
}

/** Prometheus HTTP SD target groups: one per registered shard, its host:port, labelled with the shard. */
export function shardTargets(shards: readonly (string | null)[]): { targets: string[]; labels: Record<string, string> }[] {
  return shards.flatMap((url, shard) =>
    url ? [{ targets: [new URL(url).host], labels: { job: 'rowshard_ps', shard: String(shard) } }] : [],
  );
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function unauthorized(res: ServerResponse, what: string): void {
  res
    .writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': 'Bearer realm="rowshard"',
      'cache-control': 'no-store',
    })
    .end(
      JSON.stringify({
        error: {
          code: 'E_UNAUTHORIZED',
          message: `${what}: send a role credential as "Authorization: Bearer <credential>" (rowshard token --role viewer), or sign in at /`,
        },
      }),
    );
}

function page(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
}

/** The value of one cookie, or null. */
function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** An urlencoded form body of at most maxLoginBytes; a bigger one is answered 413 and dropped. */
function readForm(req: IncomingMessage, res: ServerResponse, then: (form: URLSearchParams) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > maxLoginBytes) {
      res.writeHead(413, { connection: 'close' }).end();
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (bytes <= maxLoginBytes) then(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
  });
}
