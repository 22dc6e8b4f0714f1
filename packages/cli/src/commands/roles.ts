import { runCoordinatorProcess } from '@rowshard/coordinator';
import { ErrorCodes, RowshardError } from '@rowshard/core';
import { runPsProcess } from '@rowshard/ps';
import { runTrainerProcess } from '@rowshard/trainer';
import { loadTrainConfig } from '../config/load-config.js';
import { trainOptions } from '../config/options.js';
import { type Command, parseFlags } from './command.js';

/**
 * The three roles as separate commands, for a cluster (docker compose, several hosts): every
 * setting is a flag or an environment variable (deploy/README.md lists them). The cluster
 * token is ROWSHARD_TOKEN only. These run until stopped (coordinator, ps) or until the job's
 * work is done (trainer).
 */
const env = process.env;

function port(raw: string | undefined, fallback: string): number {
  const p = Number(raw ?? fallback);
  if (!Number.isInteger(p) || p < 0 || p > 65535)
    throw new RowshardError(ErrorCodes.BAD_CONFIG, `--port must be 0..65535, got ${raw}`, { field: 'port' });
  return p;
}

const jobFlags = Object.fromEntries(
  trainOptions
    .filter((o) => !['metrics', 'json', 'quiet', 'dashboard'].includes(o.flag))
    .map((o) => [o.flag, o.type === 'boolean' ? { type: 'boolean' as const } : { type: 'string' as const }]),
);

export const coordinatorCommand: Command = {
  summary: 'run the coordinator of a cluster job (YAML/JSON job file, checked first)',
  usage: 'rowshard coordinator --config job.yaml [--host 0.0.0.0] [--port 7070] [--dashboard] [train flags]',
  async run(argv) {
    const { values } = parseFlags(
      'coordinator',
      argv,
      { ...jobFlags, host: { type: 'string' }, port: { type: 'string' }, dashboard: { type: 'boolean' } },
      false,
    );
    const { host, port: p, dashboard, ...job } = values;
    const loaded = await loadTrainConfig(job, env);
    await runCoordinatorProcess({
      job: loaded.job,
      host: String(host ?? env.ROWSHARD_HOST ?? '127.0.0.1'),
      port: port(p as string | undefined, env.ROWSHARD_PORT ?? '7070'),
      dashboard: dashboard === true || ['1', 'true'].includes(env.ROWSHARD_DASHBOARD ?? ''),
    });
    return new Promise<number>(() => {}); // serves until SIGTERM
  },
};

export const psCommand: Command = {
  summary: 'run a parameter server that registers with a coordinator',
  usage: 'rowshard ps --coordinator ws://HOST:PORT [--shard N] [--name NAME] [--host 0.0.0.0] [--advertise HOST|auto] [--port P]',
  async run(argv) {
    const { values } = parseFlags(
      'ps',
      argv,
      {
        coordinator: { type: 'string' },
        shard: { type: 'string' },
        name: { type: 'string' },
        host: { type: 'string' },
        advertise: { type: 'string' },
        port: { type: 'string' },
      },
      false,
    );
    const coordinator = (values.coordinator as string | undefined) ?? env.ROWSHARD_COORDINATOR;
    if (!coordinator)
      throw new RowshardError(ErrorCodes.BAD_CONFIG, 'ps: --coordinator (or ROWSHARD_COORDINATOR) is required', {
        field: 'coordinator',
      });
    const shardRaw = (values.shard as string | undefined) ?? env.ROWSHARD_SHARD;
    await runPsProcess({
      coordinator,
      shard: shardRaw === undefined || shardRaw === '' ? undefined : Number(shardRaw),
      name: (values.name as string | undefined) ?? env.ROWSHARD_PS_NAME,
      host: String(values.host ?? env.ROWSHARD_HOST ?? '127.0.0.1'),
      advertise: (values.advertise as string | undefined) ?? env.ROWSHARD_ADVERTISE,
      port: port(values.port as string | undefined, env.ROWSHARD_PORT ?? '0'),
    });
    return new Promise<number>(() => {});
  },
};

export const trainerCommand: Command = {
  summary: 'run a trainer (worker threads) that registers with a coordinator',
  usage: 'rowshard trainer --coordinator ws://HOST:PORT [--workers N]',
  async run(argv) {
    const { values } = parseFlags('trainer', argv, { coordinator: { type: 'string' }, workers: { type: 'string' } }, false);
    const coordinator = (values.coordinator as string | undefined) ?? env.ROWSHARD_COORDINATOR;
    if (!coordinator)
      throw new RowshardError(ErrorCodes.BAD_CONFIG, 'trainer: --coordinator (or ROWSHARD_COORDINATOR) is required', {
        field: 'coordinator',
      });
    return runTrainerProcess({ coordinator, workers: (values.workers as string | undefined) ?? env.ROWSHARD_WORKERS });
  },
};
