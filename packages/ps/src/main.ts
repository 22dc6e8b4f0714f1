#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RowshardError } from '@rowshard/core';
import { exitWithParent, RpcClient } from '@rowshard/transport';
import { parsePsConfig } from './ps-config.js';
import { ParameterServer } from './ps-server.js';

/**
 * A parameter-server process, in one of two forms:
 *   node packages/ps/dist/main.js --coordinator ws://host:port [--shard N]   (a job's PS)
 *   node packages/ps/dist/main.js --config ps.json                          (standalone)
 * Common flags: --host H (bind address), --advertise H (address others dial; default the
 * bind address), --port P, --max-payload-bytes N. The cluster token comes from ROWSHARD_TOKEN
 * (never a flag: flags show in `ps`). When serving it prints one JSON line
 * {"event":"listening","role":"ps","shard":S,"url":...} on stdout.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      coordinator: { type: 'string' },
      shard: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      advertise: { type: 'string' },
      port: { type: 'string', default: '0' },
      'max-payload-bytes': { type: 'string' },
    },
    strict: true,
  });
  if (!values.config === !values.coordinator) throw new Error('give exactly one of --config <file> or --coordinator <url>');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const maxPayload = values['max-payload-bytes'] ? Number(values['max-payload-bytes']) : undefined;
  const token = process.env.ROWSHARD_TOKEN ?? null;
  const config = values.config ? parsePsConfig(readJson(values.config), values.config) : undefined;
  const ps = await ParameterServer.start({
    config,
    host: values.host,
    port,
    token,
    transport: maxPayload ? { maxPayloadBytes: maxPayload } : {},
    onFault: (conn, reason) =>
      process.stderr.write(`${JSON.stringify({ event: 'fault', connection: conn.connectionId, reason })}\n`),
  });
  const url = values.advertise ? `ws://${values.advertise}:${ps.port}` : ps.url;
  let shard = config?.shard ?? -1;
  if (values.coordinator) {
    const coordinator = new RpcClient({ url: values.coordinator, token, peerName: 'coordinator' });
    await coordinator.connect();
    const requested = values.shard === undefined ? null : Number(values.shard);
    const register = async (asShard: number | null) => {
      const reply = await coordinator.request({ type: 'register_ps', url, shard: asShard });
      const assigned = parsePsConfig(reply.config, `coordinator at ${values.coordinator}`);
      ps.configure(assigned);
      await coordinator.request({ type: 'ps_ready', shard: assigned.shard, url });
      return assigned.shard;
    };
    shard = await register(requested);
    // A restarted coordinator knows nobody: register again (same shard) whenever the
    // connection comes back; the coordinator then restores every shard from its checkpoint.
    let registered = true;
    coordinator.on('disconnected', () => {
      registered = false;
    });
    coordinator.on('connected', () => {
      if (registered) return;
      registered = true;
      register(shard).catch((e: Error) =>
        process.stderr.write(`${JSON.stringify({ event: 'fault', reason: `re-registering: ${e.message}` })}\n`),
      );
    });
  }
  process.stdout.write(`${JSON.stringify({ event: 'listening', role: 'ps', pid: process.pid, shard, url })}\n`);
  const stop = () => {
    ps.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  exitWithParent(() => ps.close());
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

main().catch((e: unknown) => {
  const msg = e instanceof RowshardError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`rowshard ps: ${msg}\n`);
  process.exit(2);
});
