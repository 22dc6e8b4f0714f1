import { describe, expect, it } from 'vitest';
import { Recovery } from './recovery.js';

/** Recovery over fakes: restores that finish when the test says, shards that come and go. */
function recovery() {
  const restores: { epoch: number; finish: () => void }[] = [];
  const events: string[] = [];
  let complete = true;
  const r = new Recovery({
    shardsComplete: () => complete,
    latestCheckpoint: () => null,
    restore: (_source, _step, epoch) => new Promise<void>((finish) => restores.push({ epoch, finish })),
    pause: () => {},
    emit: (event) => events.push(event),
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return {
    r,
    restores,
    events,
    settle,
    setComplete: (v: boolean) => {
      complete = v;
    },
  };
}

describe('Recovery', () => {
  it('a shard that registers again while the shards are restored is restored again before workers resume', async () => {
    const { r, restores, events, settle, setComplete } = recovery();
    r.shardsReady();
    restores[0].finish();
    await settle();
    expect(r.phase).toBe('running');

    // A worker reports a failure: the restore starts with every shard still counted ready ...
    r.workerReported(r.epoch, 'connection to ps 1 closed');
    expect(restores).toHaveLength(2);
    // ... and meanwhile the PS of shard 1, dropped by the coordinator, registers again and is
    // reset (configured afresh), perhaps after its restore reached it.
    r.shardRegistered('parameter server for shard 1 registered again');
    setComplete(false);
    restores[1].finish();
    await settle();
    expect(r.phase).toBe('recovering'); // that restore does not count: nobody is let in
    expect(events).not.toContain('recovered');

    setComplete(true); // its ps_ready
    r.shardsReady();
    expect(restores).toHaveLength(3);
    expect(restores[2].epoch).toBeGreaterThan(restores[1].epoch);
    restores[2].finish();
    await settle();
    expect(r.phase).toBe('running');
    expect(events.filter((e) => e === 'recovered')).toHaveLength(1);
    await r.whenReady(1000, 'test');
  });

  it('a shard registering while the job runs starts a recovery', async () => {
    const { r, restores, settle } = recovery();
    r.shardsReady();
    restores[0].finish();
    await settle();
    r.shardRegistered('parameter server for shard 0 registered again');
    expect(r.phase).toBe('recovering');
    expect(r.recoveries).toBe(1);
  });
});
