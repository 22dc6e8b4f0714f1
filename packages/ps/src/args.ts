import { configError } from '@rowshard/core';
import {
  type ArgSpec,
  argvOptionsOf,
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
export const psArgSpecs: readonly ArgSpec[] = [
  { flag: 'coordinator', value: 'URL', env: 'ROWSHARD_COORDINATOR', help: 'the coordinator to register with (ws://HOST:PORT)' },
  { flag: 'config', value: 'FILE', help: 'a standalone PS (no coordinator): its tables as JSON' },
  { flag: 'shard', value: 'N', env: 'ROWSHARD_SHARD', help: "the shard to serve (a replacement keeps the lost one's)" },
  { flag: 'name', value: 'NAME', env: 'ROWSHARD_PS_NAME', help: 'a stable name: the same shard after a restart' },
  { flag: 'host', value: 'HOST', env: 'ROWSHARD_HOST', help: 'bind address (default 127.0.0.1)' },
  { flag: 'advertise', value: 'HOST|auto', env: 'ROWSHARD_ADVERTISE', help: 'the address others dial' },
  { flag: 'port', value: 'PORT', env: 'ROWSHARD_PORT', help: 'port (default: any free one)' },
  {
    flag: 'checkpoint-root',
    value: 'DIR',
    env: 'ROWSHARD_CHECKPOINT_ROOT',
    help: 'the only directory checkpoints are read from and written to',
  },
  { flag: 'max-payload-bytes', value: 'N', help: 'largest WebSocket message accepted' },
];

export function parsePsArgs(argv: readonly string[], env: NodeJS.ProcessEnv): PsProcessOptions {
  const values = parseArgv(argv, argvOptionsOf(psArgSpecs));
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
