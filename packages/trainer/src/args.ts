import { configError } from '@rowshard/core';
import {
  type ArgSpec,
  type ArgvValues,
  argvOptionsOf,
  claimedRole,
  coordinatorUrlArg,
  givenArg,
  parseArgv,
  positiveIntArg,
  roleCredential,
} from '@rowshard/transport';

export interface TrainerArgs {
  readonly coordinator: string;
  /** Worker threads; absent: the job's cluster.workersPerTrainer. */
  readonly workers?: number;
}

/**
 * A trainer's settings, for `node packages/trainer/dist/main.js` and `rowshard trainer`:
 * --coordinator ws://host:port [--workers N] (env: ROWSHARD_COORDINATOR, ROWSHARD_WORKERS).
 * Its credential comes from the environment only: see trainerCredential.
 */
export const trainerArgSpecs: readonly ArgSpec[] = [
  { flag: 'coordinator', value: 'URL', env: 'ROWSHARD_COORDINATOR', help: 'the coordinator to register with (ws://HOST:PORT)' },
  { flag: 'workers', value: 'N', env: 'ROWSHARD_WORKERS', help: "worker threads (default: the job's cluster.workersPerTrainer)" },
];

export function parseTrainerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): TrainerArgs {
  const values = parseArgv(argv, argvOptionsOf(trainerArgSpecs));
  return {
    coordinator: coordinatorUrlArg(values, env),
    workers: workersArg(values, env),
  };
}

const workersArg = (values: ArgvValues, env: NodeJS.ProcessEnv) =>
  positiveIntArg(givenArg(values, env, 'workers', 'ROWSHARD_WORKERS'));

/**
 * The thread count ROWSHARD_WORKERS gives, read as parseTrainerArgs reads it, for a trainer
 * started ahead of its arguments (which may still bring --workers); undefined where it is
 * absent or not valid: parseTrainerArgs reports a bad value once the arguments are in.
 */
export function workersFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  try {
    return workersArg({}, env);
  } catch {
    return undefined;
  }
}

/**
 * What a trainer presents to the coordinator and the shards: ROWSHARD_ROLE_TOKEN, a trainer
 * credential (`rowshard token --role trainer` prints it). A trainer needs nothing more, and
 * holding only that it cannot act as the coordinator (restore, load, checkpoint) or as a
 * parameter server. Given the cluster token instead (ROWSHARD_TOKEN, as before role
 * credentials), it derives its credential from it and warns: that host holds every role's
 * key. Neither: no credential (a cluster without a token, on loopback).
 */
export function trainerCredential(env: NodeJS.ProcessEnv): { credential: string | null; warning: string | null } {
  const given = env.ROWSHARD_ROLE_TOKEN || undefined;
  const clusterToken = env.ROWSHARD_TOKEN || undefined;
  const onlyOne = 'keep ROWSHARD_TOKEN to the coordinator and the parameter servers';
  if (given !== undefined) {
    const role = claimedRole(given);
    if (role !== 'trainer') {
      throw configError(
        'ROWSHARD_ROLE_TOKEN',
        role === null
          ? 'is not a role credential (trainer.<64 hex digits>): set it to what `rowshard token --role trainer` prints'
          : `is a ${role} credential; a trainer takes only a trainer credential (rowshard token --role trainer)`,
      );
    }
    return {
      credential: given,
      warning:
        clusterToken === undefined
          ? null
          : `this trainer's environment also holds ROWSHARD_TOKEN, which it does not use; ${onlyOne}`,
    };
  }
  if (clusterToken === undefined) return { credential: null, warning: null };
  return {
    credential: roleCredential(clusterToken, 'trainer'),
    warning: `this trainer was given the cluster token (ROWSHARD_TOKEN), from which every role's credential follows; give trainers ROWSHARD_ROLE_TOKEN (rowshard token --role trainer) and ${onlyOne}`,
  };
}
