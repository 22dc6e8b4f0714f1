import {
  type ArgvOptions,
  type ArgvValues,
  booleanArg,
  givenArg,
  parseArgv,
  portArg,
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

/** Port 0: any free one, as the local launcher wants; `rowshard coordinator` passes a fixed one. */
export const coordinatorArgDefaults = Object.freeze({ host: '127.0.0.1', port: 0, dashboard: false });

/** The flags of CoordinatorServeArgs, for a caller that parses them along with its own. */
export const coordinatorServeFlags = Object.freeze({
  host: { type: 'string' },
  port: { type: 'string' },
  dashboard: { type: 'boolean' },
} satisfies ArgvOptions);

/** --host, --port, --dashboard (env: ROWSHARD_HOST, ROWSHARD_PORT, ROWSHARD_DASHBOARD). */
export function coordinatorServeArgs(
  values: ArgvValues,
  env: NodeJS.ProcessEnv,
  defaults: CoordinatorServeArgs = coordinatorArgDefaults,
): CoordinatorServeArgs {
  return {
    host: stringArg(givenArg(values, env, 'host', 'ROWSHARD_HOST')) ?? defaults.host,
    port: portArg(givenArg(values, env, 'port', 'ROWSHARD_PORT'), defaults.port),
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
