#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { RowshardError } from '@rowshard/core';
import { runPsProcess } from './process.js';

/**
 * A parameter-server process:
 *   node packages/ps/dist/main.js --coordinator ws://host:port [--shard N] [--name NAME]   (a job's PS)
 *   node packages/ps/dist/main.js --config ps.json                                       (standalone)
 * Common: --host H (bind address), --advertise H|auto (address others dial), --port P,
 * --max-payload-bytes N. Environment: ROWSHARD_COORDINATOR, ROWSHARD_SHARD, ROWSHARD_PS_NAME,
 * ROWSHARD_HOST, ROWSHARD_ADVERTISE, ROWSHARD_PORT. The token comes from ROWSHARD_TOKEN (never
 * a flag: flags show in `ps`).
 */
async function main(): Promise<void> {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      coordinator: { type: 'string', default: env.ROWSHARD_COORDINATOR },
      shard: { type: 'string', default: env.ROWSHARD_SHARD },
      name: { type: 'string', default: env.ROWSHARD_PS_NAME },
      host: { type: 'string', default: env.ROWSHARD_HOST ?? '127.0.0.1' },
      advertise: { type: 'string', default: env.ROWSHARD_ADVERTISE },
      port: { type: 'string', default: env.ROWSHARD_PORT ?? '0' },
      'max-payload-bytes': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const shard = values.shard === undefined || values.shard === '' ? undefined : Number(values.shard);
  if (shard !== undefined && (!Number.isInteger(shard) || shard < 0))
    throw new Error(`--shard must be a non-negative integer, got ${values.shard}`);
  await runPsProcess({
    config: values.config,
    coordinator: values.config ? undefined : values.coordinator,
    shard,
    name: values.name,
    host: values.host as string,
    advertise: values.advertise,
    port,
    maxPayloadBytes: values['max-payload-bytes'] ? Number(values['max-payload-bytes']) : undefined,
  });
}

main().catch((e: unknown) => {
  const msg = e instanceof RowshardError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`rowshard ps: ${msg}\n`);
  process.exit(2);
});
