import {
  type ArgSpec,
  type ArgvOptions,
  type ArgvValues,
  argvOptionsOf,
  booleanArg,
  givenArg,
  listenArgDefaults,
  listenArgs,
  parseArgv,
  requireArg,
  stringArg,
} from '@rowshard/transport';

/** Where the coordinator listens, and whether it serves the dashboard there. */
export interface CoordinatorServeArgs {
  readonly host: string;
  readonly port: number;
  readonly dashboard: boolean;
}

export interface CoordinatorArgs extends CoordinatorServeArgs {
  /** The job as `rowshard train` prepares it (JSON). */
  readonly job: string;
}

/** `rowshard coordinator` passes a fixed port instead: the one the cluster was told to dial. */
export const coordinatorArgDefaults: CoordinatorServeArgs = Object.freeze({ ...listenArgDefaults, dashboard: false });

/** The flags of CoordinatorServeArgs, declared once: parsed, and listed by `rowshard coordinator --help`. */
export const coordinatorServeArgSpecs: readonly ArgSpec[] = [
  { flag: 'host', value: 'HOST', env: 'ROWSHARD_HOST', help: 'bind address (default 127.0.0.1)' },
  { flag: 'port', value: 'PORT', env: 'ROWSHARD_PORT', help: 'port (rowshard coordinator: 7070)' },
  { flag: 'dashboard', env: 'ROWSHARD_DASHBOARD', help: 'serve the live dashboard' },
];

/** The flags of CoordinatorServeArgs, for a caller that parses them along with its own. */
export const coordinatorServeFlags: ArgvOptions = Object.freeze(argvOptionsOf(coordinatorServeArgSpecs));

/** --host, --port, --dashboard (env: ROWSHARD_HOST, ROWSHARD_PORT, ROWSHARD_DASHBOARD). */
export function coordinatorServeArgs(
  values: ArgvValues,
  env: NodeJS.ProcessEnv,
  defaults: CoordinatorServeArgs = coordinatorArgDefaults,
): CoordinatorServeArgs {
  return {
    ...listenArgs(values, env, defaults),
    dashboard: booleanArg(givenArg(values, env, 'dashboard', 'ROWSHARD_DASHBOARD'), defaults.dashboard),
  };
}

/**
 * The coordinator process's settings (`node packages/coordinator/dist/main.js`): --job job.json
 * (env ROWSHARD_JOB) and the serve flags. The token is ROWSHARD_TOKEN only.
 */
export function parseCoordinatorArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CoordinatorArgs {
  const values = parseArgv(argv, { job: { type: 'string' }, ...coordinatorServeFlags });
  return {
    job: requireArg(stringArg(givenArg(values, env, 'job', 'ROWSHARD_JOB')), 'job', 'ROWSHARD_JOB'),
    ...coordinatorServeArgs(values, env),
  };
}
