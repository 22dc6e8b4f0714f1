#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RowshardError } from '@rowshard/core';
import { parsePsConfig } from './ps-config.js';
import { ParameterServer } from './ps-server.js';

/**
 * A parameter-server process. Standalone form (used by tests and benchmarks):
 *   node packages/ps/dist/main.js --config ps.json [--host H] [--port P] [--max-payload-bytes N]
 * The cluster token comes from ROWSHARD_TOKEN (never a flag: flags show in `ps`). When ready it
 * prints one JSON line {"event":"listening","role":"ps","shard":S,"url":...} on stdout.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'max-payload-bytes': { type: 'string' },
    },
    strict: true,
  });
  if (!values.config) throw new Error('--config <file> is required');
  const file = values.config;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const config = parsePsConfig(json, file);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const maxPayload = values['max-payload-bytes'] ? Number(values['max-payload-bytes']) : undefined;
  const ps = await ParameterServer.start({
    ...config,
    host: values.host,
    port,
    token: process.env.ROWSHARD_TOKEN ?? null,
    transport: maxPayload ? { maxPayloadBytes: maxPayload } : {},
    onFault: (conn, reason) =>
      process.stderr.write(`${JSON.stringify({ event: 'fault', connection: conn.connectionId, reason })}\n`),
  });
  process.stdout.write(`${JSON.stringify({ event: 'listening', role: 'ps', shard: config.shard, url: ps.url })}\n`);
  const stop = () => {
    ps.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  const msg = e instanceof RowshardError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`rowshard ps: ${msg}\n`);
  process.exit(2);
});
