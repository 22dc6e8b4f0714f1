import {
  coordinatorArgDefaults,
  coordinatorServeArgSpecs,
  coordinatorServeArgs,
  runCoordinatorProcess,
} from '@rowshard/coordinator';
import { parsePsArgs, psArgSpecs, runPsProcess } from '@rowshard/ps';
import { parseTrainerArgs, runTrainerProcess, trainerArgSpecs } from '@rowshard/trainer';
import type { ArgSpec, ArgvValues } from '@rowshard/transport';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, type OptionSpec, parseCommandLine } from '../command-line/parse.js';
import { loadTrainConfig } from '../config/load-config.js';
import { optionSpecOf, trainOptions } from '../config/options.js';
import { type Command, usageError } from './command.js';

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

const toOption = (a: ArgSpec): OptionSpec => ({
  name: a.flag,
  type: a.value === undefined ? 'boolean' : 'string',
  help: a.help,
  ...(a.value ? { value: a.value } : {}),
  ...(a.env ? { env: a.env } : {}),
});

/** A role's flags in `--help`, from the table its args.ts parses them with. */
function roleHelp(command: string, summary: string, specs: readonly ArgSpec[], notes: string[]): string {
  return formatHelp({ command, summary, dash: '--', options: specs.map(toOption), notes });
}

const coordinatorCommandLine: CommandLineSpec = {
  command: 'coordinator',
  summary: 'run the coordinator of a cluster job (YAML/JSON job file, checked first)',
  dash: '--',
  options: [
    ...coordinatorServeArgSpecs.map(toOption),
    ...trainOptions.filter((o) => !['metrics', 'json', 'quiet', 'dashboard'].includes(o.flag)).map(optionSpecOf),
  ],
  notes: [
    "The job flags are rowshard train's (same environment variables and precedence). The cluster",
    'token comes from ROWSHARD_TOKEN only. Serves until stopped.',
  ],
};

export const coordinatorCommand: Command = {
  summary: coordinatorCommandLine.summary,
  usage: 'rowshard coordinator --config job.yaml [--host 0.0.0.0] [--port 7070] [--dashboard] [train flags]',
  help: () => formatHelp(coordinatorCommandLine),
  async run(argv) {
    const { values, positionals } = parseCommandLine(coordinatorCommandLine, argv, () => formatHelp(coordinatorCommandLine));
    if (positionals.length > 0) throw usageError('coordinator', `unexpected argument '${positionals[0]}' (use --config FILE)`);
    const { host, port, dashboard, ...jobValues } = values;
    const serve = coordinatorServeArgs({ host, port, dashboard } as ArgvValues, env, {
      ...coordinatorArgDefaults,
      port: clusterCoordinatorPort,
    });
    const loaded = await loadTrainConfig(jobValues, env);
    loaded.writeFiles();
    await runCoordinatorProcess({ job: loaded.job, ...serve });
    return new Promise<number>(() => {}); // serves until SIGTERM
  },
};

const psSummary = 'run a parameter server that registers with a coordinator';

export const psCommand: Command = {
  summary: psSummary,
  usage:
    'rowshard ps --coordinator ws://HOST:PORT [--shard N] [--name NAME] [--host 0.0.0.0] [--advertise HOST|auto] [--port P] [--checkpoint-root DIR] [--max-payload-bytes N]',
  help: () => roleHelp('ps', psSummary, psArgSpecs, ['The cluster token comes from ROWSHARD_TOKEN only. Serves until stopped.']),
  async run(argv) {
    await runPsProcess(parsePsArgs(argv, env));
    return new Promise<number>(() => {});
  },
};

const trainerSummary = 'run a trainer (worker threads) that registers with a coordinator';

export const trainerCommand: Command = {
  summary: trainerSummary,
  usage: 'rowshard trainer --coordinator ws://HOST:PORT [--workers N]',
  help: () =>
    roleHelp('trainer', trainerSummary, trainerArgSpecs, [
      'Its credential comes from ROWSHARD_ROLE_TOKEN (rowshard token --role trainer). Ends when the job is done.',
    ]),
  async run(argv) {
    return runTrainerProcess(parseTrainerArgs(argv, env));
  },
};
