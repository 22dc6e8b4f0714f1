import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { checkResumeFits } from '@rowshard/coordinator';
import { ErrorCodes, parseJobConfig, RowshardError } from '@rowshard/core';
import { roleCredential } from '@rowshard/transport';
import { demoJob } from '../config/demo-job.js';
import { type LoadedConfig, loadTrainConfig } from '../config/load-config.js';
import { trainOptions } from '../config/options.js';
import { type LocalCluster, startLocalCluster } from '../launcher/local-cluster.js';
import { checkpointSummary, ProgressView } from '../output/progress-view.js';
import { type Command, parseFlags } from './command.js';

/**
 * Runs a job on this machine: a coordinator, PS processes and trainers, wired on loopback,
 * with progress on the terminal. Ctrl-C (or SIGTERM) stops every process; children also exit
 * on their own if this process dies. Exit 0 when the job completes, 130 on interrupt, 2 for a
 * bad config, 1 for a failed run.
 */
export async function runTrain(loaded: LoadedConfig): Promise<number> {
  const job = loaded.job;
  const parsed = parseJobConfig(job);
  const view = new ProgressView(loaded.cli, parsed.steps);
  if (loaded.clusterChoice) {
    if (loaded.cli.json)
      process.stdout.write(`${JSON.stringify({ role: 'cli', event: 'cluster', message: loaded.clusterChoice })}\n`);
    else if (!loaded.cli.quiet) process.stderr.write(`${loaded.clusterChoice}\n`);
  }
  // A checkpoint of another job stops the run here, before any process starts (exit 2).
  await checkResumeFits(job, (p) => import(pathToFileURL(p).href));
  let cluster: LocalCluster | null = null;
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    void cluster?.stop();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    // This run's token, made here so the dashboard line can say what to sign in with: the
    // viewer credential, which shows the status and nothing else.
    const token = randomBytes(24).toString('hex');
    const signIn = roleCredential(token, 'viewer');
    cluster = await startLocalCluster({
      job,
      token,
      dashboard: loaded.cli.dashboard,
      onEvent: (role, e) => view.event(role, e.event === 'listening' && e.dashboard ? { ...e, signIn } : e),
      onLog: (role, line) => {
        if (!loaded.cli.quiet) process.stderr.write(`[${role}] ${line}\n`);
      },
    });
    const result = await cluster.result();
    const classes = (parsed.model.options.numClasses as number | undefined) ?? null;
    const checkpoints = checkpointSummary(result, parsed.checkpoint !== null);
    view.summary(result, classes ? 1 / classes : null, checkpoints);
    if (loaded.cli.json)
      process.stdout.write(`${JSON.stringify({ role: 'cli', event: 'summary', ...summaryOf(result), checkpoints })}\n`);
    return 0;
  } catch (e) {
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

const flagSpec = Object.fromEntries(
  trainOptions.map((o) => [o.flag, o.type === 'boolean' ? { type: 'boolean' as const } : { type: 'string' as const }]),
);

export const trainCommand: Command = {
  summary: 'train a job on this machine (no arguments: the built-in 1M-row demo)',
  usage: `rowshard train [--config job.yaml] [${trainOptions
    .filter((o) => o.flag !== 'config')
    .map((o) => `--${o.flag}${o.type === 'boolean' ? '' : ' X'}`)
    .join('] [')}]`,
  async run(argv) {
    const { values, positionals } = parseFlags('train', argv, flagSpec);
    if (positionals.length > 0) {
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `train: unexpected argument '${positionals[0]}' (use --config FILE)`, {
        field: 'argv',
      });
    }
    return runTrain(await loadTrainConfig(values, process.env, demoJob, 'the built-in demo job', availableParallelism()));
  },
};

export const demoCommand: Command = {
  summary: 'the built-in demo job (same as `rowshard train` with no config)',
  usage: 'rowshard demo [train flags]',
  run: (argv) => trainCommand.run(argv),
};
