import { coordinatorUrlArg, givenArg, parseArgv, positiveIntArg } from '@rowshard/transport';

export interface TrainerArgs {
  readonly coordinator: string;
  /** Worker threads; absent: the job's cluster.workersPerTrainer. */
  readonly workers?: number;
}

/**
 * A trainer's settings, for `node packages/trainer/dist/main.js` and `rowshard trainer`:
 * --coordinator ws://host:port [--workers N] (env: ROWSHARD_COORDINATOR, ROWSHARD_WORKERS).
 * The token is ROWSHARD_TOKEN only.
 */
export function parseTrainerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): TrainerArgs {
  const values = parseArgv(argv, { coordinator: { type: 'string' }, workers: { type: 'string' } });
  return {
    coordinator: coordinatorUrlArg(values, env),
    workers: positiveIntArg(givenArg(values, env, 'workers', 'ROWSHARD_WORKERS')),
  };
}
