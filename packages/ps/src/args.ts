import { configError } from '@rowshard/core';
import {
  coordinatorUrlArg,
  givenArg,
  listenArgs,
  nonNegativeIntArg,
  parseArgv,
  positiveIntArg,
  stringArg,
} from '@rowshard/transport';
import type { PsProcessOptions } from './process.js';

/**
 * A parameter server's settings, for `node packages/ps/dist/main.js` and `rowshard ps`:
 *   --coordinator ws://host:port [--shard N] [--name NAME]   (a job's PS)
 *   --config ps.json                                         (standalone)
 * Common: --host H (bind address), --advertise H|auto (address others dial), --port P,
 * --checkpoint-root DIR (the only directory checkpoints are read from and written to),
 * --max-payload-bytes N. Environment: ROWSHARD_COORDINATOR, ROWSHARD_SHARD, ROWSHARD_PS_NAME,
 * ROWSHARD_HOST, ROWSHARD_ADVERTISE, ROWSHARD_PORT, ROWSHARD_CHECKPOINT_ROOT. The cluster
 * token is ROWSHARD_TOKEN only (never a flag: flags show in `ps`).
 */
export function parsePsArgs(argv: readonly string[], env: NodeJS.ProcessEnv): PsProcessOptions {
  const values = parseArgv(argv, {
    config: { type: 'string' },
    coordinator: { type: 'string' },
    shard: { type: 'string' },
    name: { type: 'string' },
    host: { type: 'string' },
    advertise: { type: 'string' },
    port: { type: 'string' },
    'checkpoint-root': { type: 'string' },
    'max-payload-bytes': { type: 'string' },
  });
  const arg = (flag: string, envName?: string) => givenArg(values, env, flag, envName);
  const config = stringArg(arg('config'));
  // A standalone PS has no coordinator: one in the environment (a shared env file) is ignored.
  if (config !== undefined && values.coordinator !== undefined)
    throw configError('--coordinator', 'give exactly one of --config <file> or --coordinator <url>');
  return {
    config,
    coordinator: config === undefined ? coordinatorUrlArg(values, env) : undefined,
    shard: nonNegativeIntArg(arg('shard', 'ROWSHARD_SHARD')),
    name: stringArg(arg('name', 'ROWSHARD_PS_NAME')),
    advertise: stringArg(arg('advertise', 'ROWSHARD_ADVERTISE')),
    ...listenArgs(values, env),
    checkpointRoot: stringArg(arg('checkpoint-root', 'ROWSHARD_CHECKPOINT_ROOT')),
    maxPayloadBytes: positiveIntArg(arg('max-payload-bytes')),
  };
}
