import { type CoordinatorProtocol, coordinatorProtocol, ErrorCodes, type ReplyOf, RowshardError } from '@rowshard/core';
import { bundleEntry, exitWithParent, RpcClient } from '@rowshard/transport';
import { Piscina } from 'piscina';
import { type TrainerArgs, trainerCredential } from './args.js';
import type { WorkerOutcome } from './worker.js';
import type { WorkerTask } from './worker-loop.js';

/**
 * A trainer process: registers with the coordinator (which assigns worker ranks and hands out
 * the job and the shard map), runs one piscina worker thread per rank, and resolves with 0
 * when they finish (1 if a worker failed). Used by `node packages/trainer/dist/main.js` and by
 * `rowshard trainer`. Its credential comes from the environment (trainerCredential). Prints
 * JSON event lines.
 */
const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

export async function runTrainerProcess(args: TrainerArgs, threadsStarted: Piscina | null = null): Promise<number> {
  const { credential: token, warning } = trainerCredential(process.env);
  if (warning) process.stderr.write(`${JSON.stringify({ event: 'warning', reason: warning })}\n`);
  const coordinator = new RpcClient({ url: args.coordinator, token, protocol: coordinatorProtocol, peerName: 'coordinator' });
  // With the thread count given, the threads start now (or started before the arguments came:
  // threadsStarted): they load their modules while the coordinator waits for every shard (a
  // few hundred milliseconds of a short job's start).
  if (threadsStarted && threadsStarted.options.maxThreads !== args.workers) {
    await threadsStarted.destroy();
    threadsStarted = null;
  }
  const early = threadsStarted ?? (args.workers ? workerPool(args.workers) : null);
  let reg: ReplyOf<CoordinatorProtocol, 'register_trainer'>;
  try {
    await coordinator.connect();
    // The coordinator answers once every shard is up (it enforces its own deadline).
    reg = await coordinator.request('register_trainer', args.workers ? { workers: args.workers } : {}, 10 * 60_000);
  } catch (e) {
    await early?.destroy();
    throw e;
  }
  // The connection stays open while the workers run: it is this trainer's membership (the
  // coordinator frees its ranks for a replacement if it drops).
  const ranks = reg.ranks;
  emit({ event: 'listening', role: 'trainer', pid: process.pid, ranks, startStep: reg.startStep });
  exitWithParent(() => {});
  let pool = early;
  if (pool === null || ranks.length !== args.workers) {
    await pool?.destroy();
    pool = workerPool(ranks.length);
  }
  // When the membership connection comes back (a restarted coordinator, a stall past the
  // heartbeat), the ranks are claimed again, so the coordinator hands them to no replacement.
  // Ranks a replacement already runs stop this trainer.
  const taken = new Promise<never>((_, reject) => {
    coordinator.on('connected', () => {
      coordinator.request('register_trainer', { claim: ranks }, 10 * 60_000).then(
        () => emit({ event: 'reclaimed', role: 'trainer', ranks }),
        (e: unknown) => {
          if (e instanceof RowshardError && e.code === ErrorCodes.RANK_TAKEN) reject(e);
          // Anything else (the connection dropped again) is retried on the next connect.
        },
      );
    });
  });
  taken.catch(() => {});
  try {
    // The first worker to fail fails the trainer: the others would wait for its steps.
    const working = Promise.all(
      ranks.map(async (rank) => {
        const outcome = (await pool.run({
          rank,
          workers: reg.workers,
          job: reg.job,
          shardUrls: reg.shardUrls,
          coordinatorUrl: args.coordinator,
          token,
          startStep: reg.startStep,
          epoch: reg.epoch,
        } satisfies WorkerTask)) as WorkerOutcome;
        if ('error' in outcome) throw workerError(outcome.error, rank);
        return outcome.summary;
      }),
    );
    working.catch(() => {}); // when `taken` wins, the workers' end (the pool destroyed) is no news
    const summaries = await Promise.race([working, taken]);
    emit({ event: 'done', role: 'trainer', workers: summaries });
    return 0;
  } finally {
    await pool.destroy();
    await coordinator.close();
  }
}

/** One worker thread per rank, each loading the worker module as it starts. */
export function workerPool(threads: number): Piscina {
  return new Piscina({
    filename: (bundleEntry('trainer-worker') ?? new URL('./worker.js', import.meta.url)).href,
    minThreads: threads,
    maxThreads: threads,
    atomics: 'disabled',
    idleTimeout: 60_000,
  });
}

/** A worker's error, rebuilt on this side of the thread boundary with its code, naming the worker. */
function workerError(error: Extract<WorkerOutcome, { error: unknown }>['error'], rank: number): Error {
  const message = `worker ${rank}: ${error.message}`;
  if (error.syscall) return Object.assign(new Error(message), { code: error.syscall });
  return RowshardError.fromJSON({ ...error, message });
}
