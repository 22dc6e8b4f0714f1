import {
  coordinatorArgDefaults,
  coordinatorServeArgs,
  coordinatorServeFlags,
  runCoordinatorProcess,
} from '@rowshard/coordinator';
import { parsePsArgs, runPsProcess } from '@rowshard/ps';
import { parseTrainerArgs, runTrainerProcess } from '@rowshard/trainer';
import { parseArgv } from '@rowshard/transport';
import { loadTrainConfig } from '../config/load-config.js';
import { trainOptions } from '../config/options.js';
import type { Command } from './command.js';

/**
 * The three roles as separate commands, for a cluster (docker compose, several hosts): every
 * setting is a flag or an environment variable (deploy/README.md lists them), parsed by the
 * role's own args.ts exactly as its main.ts does. Secrets come from the environment only:
 * ROWSHARD_TOKEN (coordinator, ps), ROWSHARD_ROLE_TOKEN (trainer).
 * These run until stopped (coordinator, ps) or until the job's work is done (trainer).
 */
const env = process.env;

/** A cluster's coordinator listens where the others were told to dial: not on any free port. */
const clusterCoordinatorPort = 7070;

const jobFlags = Object.fromEntries(
  trainOptions
    .filter((o) => !['metrics', 'json', 'quiet', 'dashboard'].includes(o.flag))
    .map((o) => [o.flag, o.type === 'boolean' ? { type: 'boolean' as const } : { type: 'string' as const }]),
);

export const coordinatorCommand: Command = {
  summary: 'run the coordinator of a cluster job (YAML/JSON job file, checked first)',
  usage: 'rowshard coordinator --config job.yaml [--host 0.0.0.0] [--port 7070] [--dashboard] [train flags]',
  async run(argv) {
    const values = parseArgv(argv, { ...jobFlags, ...coordinatorServeFlags });
    const { host, port, dashboard, ...jobValues } = values;
    const serve = coordinatorServeArgs(values, env, { ...coordinatorArgDefaults, port: clusterCoordinatorPort });
    const loaded = await loadTrainConfig(jobValues, env);
    await runCoordinatorProcess({ job: loaded.job, ...serve });
    return new Promise<number>(() => {}); // serves until SIGTERM
  },
};

export const psCommand: Command = {
  summary: 'run a parameter server that registers with a coordinator',
  usage:
    'rowshard ps --coordinator ws://HOST:PORT [--shard N] [--name NAME] [--host 0.0.0.0] [--advertise HOST|auto] [--port P] [--checkpoint-root DIR] [--max-payload-bytes N]',
  async run(argv) {
    await runPsProcess(parsePsArgs(argv, env));
    return new Promise<number>(() => {});
  },
};

export const trainerCommand: Command = {
  summary: 'run a trainer (worker threads) that registers with a coordinator',
  usage: 'rowshard trainer --coordinator ws://HOST:PORT [--workers N]',
  async run(argv) {
    return runTrainerProcess(parseTrainerArgs(argv, env));
  },
};
