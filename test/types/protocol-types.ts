/**
 * Compile-time checks of the typed protocol, run by test/types.test.ts with `tsc --noEmit`.
 * Every line marked @ts-expect-error must fail to compile: if the protocol's types loosen
 * (a handler may go missing, a request may take any body, a reply needs a cast), that line
 * compiles, tsc reports the unused directive, and the test fails.
 */
import {
  type CoordinatorProtocol,
  coordinatorProtocol,
  type Handlers,
  type PsProtocol,
  psProtocol,
  psSenders,
  type ReplyOf,
  type Senders,
} from '@rowshard/core';
import type { ConnectionInfo, RpcClient } from '@rowshard/transport';

declare const ps: RpcClient<PsProtocol>;
declare const coordinator: RpcClient<CoordinatorProtocol>;

export async function requestsAreTyped(): Promise<void> {
  // A reply is typed by the request's message type: no casts.
  const { rows } = await ps.request('pull', { tables: [{ table: 't', ids: Uint32Array.of(1) }] });
  const first: Float32Array = rows[0];
  const { rowsUpdated } = await ps.request('push', { tables: [], step: 0, rank: 0 });
  const n: number = rowsUpdated;
  const reg = await coordinator.request('register_trainer', {});
  const ranks: number[] = reg.ranks;
  const epoch: number = reg.epoch;
  void [first, n, ranks, epoch];

  // @ts-expect-error: a message type the PS does not serve.
  await ps.request('dense_step', {});
  // @ts-expect-error: ids must be a typed array, not a list of numbers.
  await ps.request('pull', { tables: [{ table: 't', ids: [1, 2] }] });
  // @ts-expect-error: a required field is missing (grads).
  await ps.request('push', { tables: [{ table: 't', ids: Uint32Array.of(1), lr: 0.1, step: 1 }] });
  // @ts-expect-error: the coordinator's reply to dense_get has no rows.
  const { rows: none } = await coordinator.request('dense_get', {});
  void none;
}

const noop = () => ({});

export const complete: Handlers<PsProtocol, ConnectionInfo> = {
  pull: () => ({ rows: [] }),
  push: () => ({ rowsUpdated: 0 }),
  push_pull: () => ({ rowsUpdated: 0, rows: [] }),
  load: () => ({ rowsLoaded: 0 }),
  stats: () => {
    throw new Error('not here');
  },
  checkpoint: () => {
    throw new Error('not here');
  },
  restore: () => ({ rowsLoaded: 0, step: 0 }),
  ping: noop,
};

// @ts-expect-error: a dispatch table without a handler for every message (restore is missing).
export const missing: Handlers<PsProtocol, ConnectionInfo> = {
  pull: () => ({ rows: [] }),
  push: () => ({ rowsUpdated: 0 }),
  push_pull: complete.push_pull,
  load: () => ({ rowsLoaded: 0 }),
  stats: complete.stats,
  checkpoint: complete.checkpoint,
  ping: noop,
};

export const wrongReply: Handlers<PsProtocol, ConnectionInfo> = {
  ...complete,
  // @ts-expect-error: a handler whose reply does not match its message.
  pull: () => ({ rowsUpdated: 1 }),
};

// @ts-expect-error: a table of senders that leaves a message out (restore): it would be refused to every role.
export const sendersMissing: Senders<PsProtocol> = {
  pull: ['trainer'],
  push: ['trainer'],
  push_pull: ['trainer'],
  load: ['coordinator'],
  checkpoint: ['coordinator'],
  stats: ['viewer'],
  ping: ['viewer'],
};

// @ts-expect-error: a role that does not exist.
export const unknownRole: Senders<PsProtocol> = { ...psSenders, load: ['admin'] };

export const epochIsNumber = (r: ReplyOf<CoordinatorProtocol, 'recovery_wait'>): number => r.epoch;
void [psProtocol, coordinatorProtocol];
