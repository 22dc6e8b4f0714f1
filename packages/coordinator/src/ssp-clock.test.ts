import { StepBarrier } from '@rowshard/transport';
import { describe, expect, it } from 'vitest';
import { SspClock } from './ssp-clock.js';

describe('SspClock', () => {
  it('admits a step only while the slowest worker is within the staleness bound', async () => {
    const clock = new SspClock(3, 1, 10_000);
    await clock.wait(0, 0);
    await clock.wait(0, 1); // 1 - 0 <= 1
    let admitted = false;
    const blocked = clock.wait(0, 2).then(() => {
      admitted = true;
    });
    await Promise.resolve();
    expect(admitted).toBe(false);
    clock.tick(1, 1);
    clock.tick(2, 1);
    await Promise.resolve();
    expect(admitted).toBe(false); // rank 0 itself is still at clock 0
    clock.tick(0, 1);
    await blocked;
    expect(admitted).toBe(true);
    expect(clock.maxObservedLag).toBe(1);
  });

  it('a finished worker no longer holds anyone back', async () => {
    const clock = new SspClock(2, 0, 10_000);
    clock.tick(1, Number.MAX_SAFE_INTEGER);
    clock.tick(0, 5);
    await clock.wait(0, 5);
  });

  it('times out with a typed error', async () => {
    const clock = new SspClock(2, 0, 20);
    await expect(clock.wait(0, 3)).rejects.toMatchObject({ code: 'E_TIMEOUT' });
  });
});

describe('StepBarrier', () => {
  it('completes a step with contributions in rank order, whatever the arrival order', async () => {
    const seen: number[][] = [];
    const barrier = new StepBarrier<number>(3, 10_000, (_step, values) => seen.push(values));
    const done = [barrier.contribute(0, 2, 20), barrier.contribute(0, 0, 0), barrier.contribute(0, 1, 10)];
    await Promise.all(done);
    expect(seen).toEqual([[0, 10, 20]]);
    await barrier.contribute(0, 1, 1); // a retry of a completed step is acknowledged, not applied again
    expect(seen).toHaveLength(1);
  });

  it('fails everyone waiting when a rank never comes, naming it', async () => {
    const barrier = new StepBarrier<number>(2, 20, () => {});
    await expect(barrier.contribute(0, 0, 1)).rejects.toMatchObject({
      code: 'E_TIMEOUT',
      message: expect.stringContaining('ranks 1'),
    });
  });
});
