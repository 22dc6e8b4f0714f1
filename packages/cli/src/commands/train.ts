import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { checkResumeFits } from '@rowshard/coordinator/files';
import { ErrorCodes, parseJobConfig, RowshardError } from '@rowshard/core';
import { roleCredential, userModuleImporter } from '@rowshard/transport/launch';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, parseCommandLine } from '../command-line/parse.js';
import { demoJob } from '../config/demo-job.js';
import { type LoadedConfig, loadTrainConfig } from '../config/load-config.js';
import { optionSpecOf, trainOptions } from '../config/options.js';
import { type LocalCluster, startLocalCluster } from '../launcher/local-cluster.js';
import { RoleStandby } from '../launcher/role-standby.js';
import { checkpointSummary, ProgressView } from '../output/progress-view.js';
import type { Command } from './command.js';

/**
 * Runs a job on this machine: a coordinator, PS processes and trainers, wired on loopback,
 * with progress on the terminal. Ctrl-C (or SIGTERM) stops every process; children also exit
 * on their own if this process dies. Exit 0 when the job completes, 130 on interrupt, 2 for a
 * bad config, 1 for a failed run.
 */
export async function runTrain(loaded: LoadedConfig, standby: RoleStandby): Promise<number> {
  const job = loaded.job;
  const parsed = parseJobConfig(job);
  const view = new ProgressView(loaded.cli, parsed.steps);
  // A changed job over old checkpoints, a named checkpoint that is not there, or a checkpoint
  // of other tables stops the run here, before anything is written or started (exit 2).
  const plan = await checkResumeFits(job, userModuleImporter(import.meta.resolve('@rowshard/nn')));
  if (plan.complete && plan.from) {
    const message = `nothing to train: ${plan.from.dir} is this job's last step (${parsed.steps}); --resume none trains it again from the start`;
    if (loaded.cli.json)
      process.stdout.write(
        `${JSON.stringify({ role: 'cli', event: 'complete', dir: plan.from.dir, steps: parsed.steps, message })}\n`,
      );
    else process.stdout.write(`${message}\n`);
    return 0;
  }
  loaded.writeFiles();
  if (loaded.clusterChoice) {
    if (loaded.cli.json)
      process.stdout.write(`${JSON.stringify({ role: 'cli', event: 'cluster', message: loaded.clusterChoice })}\n`);
    else if (!loaded.cli.quiet) process.stderr.write(`${loaded.clusterChoice}\n`);
  }
  let cluster: LocalCluster | null = null;
  let interrupted = false;
  // Once the run has its outcome, what processes say while they are stopped is noise.
  let ending = false;
  const interrupt = () => {
    interrupted = true;
    void cluster?.stop();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    // The run's token is the standby's (its processes were started with it); the dashboard line
    // says what to sign in with: the viewer credential, which shows the status and nothing else.
    const signIn = roleCredential(standby.token, 'viewer');
    cluster = await startLocalCluster({
      job,
      standby,
      dashboard: loaded.cli.dashboard,
      onEvent: (role, e) => {
        if (!ending) view.event(role, e.event === 'listening' && e.dashboard ? { ...e, signIn } : e);
      },
      onLog: (role, line) => {
        if (!ending && !loaded.cli.quiet) process.stderr.write(`[${role}] ${line}\n`);
      },
    });
    // The processes started ahead that the cluster did not take (its shape changed) go now.
    standby.close();
    // Ctrl-C or SIGTERM while the processes were starting: there was no cluster to stop yet.
    if (interrupted) throw new Error('interrupted while starting');
    const result = await cluster.result();
    ending = true;
    const classes = (parsed.model.options.numClasses as number | undefined) ?? null;
    const checkpoints = checkpointSummary(result, parsed.checkpoint !== null);
    view.summary(result, classes ? 1 / classes : null, checkpoints);
    if (loaded.cli.json)
      process.stdout.write(`${JSON.stringify({ role: 'cli', event: 'summary', ...summaryOf(result), checkpoints })}\n`);
    return 0;
  } catch (e) {
    ending = true;
    if (interrupted) {
      process.stderr.write('rowshard: interrupted; every process was stopped\n');
      return 130;
    }
    if (e instanceof RowshardError) {
      process.stderr.write(`rowshard: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await cluster?.stop();
    if (loaded.scratchDir) rmSync(loaded.scratchDir, { recursive: true, force: true });
  }
}

function summaryOf(r: {
  steps: number;
  examples: number;
  seconds: number;
  losses: readonly (number | null)[];
  evals: readonly unknown[];
}) {
  return { steps: r.steps, examples: r.examples, seconds: r.seconds, finalLoss: r.losses.at(-1), evals: r.evals };
}

const trainSummary = 'train a job on this machine (no config and no --data: the built-in 1M-row demo)';

/** `rowshard train`'s command line: the option table that parses its flags and writes its help. */
export function trainCommandLine(command = 'train', summary = trainSummary): CommandLineSpec {
  return {
    command,
    summary,
    dash: '--',
    options: trainOptions.map(optionSpecOf),
    notes: [
      'Precedence: flag, then environment variable, then config file, then default. Without --config,',
      '--data FILE makes a whole job from flags and defaults (README, "Command line").',
      'Exit: 0 done, 1 failed, 2 bad config or arguments, 130 interrupted.',
    ],
  };
}

async function trainFromArgv(spec: CommandLineSpec, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(spec, argv, () => formatHelp(spec));
  if (positionals.length > 0) {
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `${spec.command}: unexpected argument '${positionals[0]}' (use --config FILE)`,
      { field: 'argv' },
    );
  }
  // The processes start while the job's data is read (RoleStandby).
  const standby = new RoleStandby();
  try {
    const loaded = await loadTrainConfig(
      values,
      process.env,
      demoJob,
      'the built-in demo job',
      availableParallelism(),
      standby.startFor,
    );
    return await runTrain(loaded, standby);
  } finally {
    standby.close();
  }
}

export const trainCommand: Command = {
  summary: trainSummary,
  usage: 'rowshard train [--config job.yaml] [options]',
  help: () => formatHelp(trainCommandLine()),
  run: (argv) => trainFromArgv(trainCommandLine(), argv),
};

const demoSummary = 'the built-in demo job (same as `rowshard train` with no config)';

export const demoCommand: Command = {
  summary: demoSummary,
  usage: 'rowshard demo [train options]',
  help: () => formatHelp(trainCommandLine('demo', demoSummary)),
  run: (argv) => trainFromArgv(trainCommandLine('demo', demoSummary), argv),
};
