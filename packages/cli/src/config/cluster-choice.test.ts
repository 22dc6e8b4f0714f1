import { describe, expect, it } from 'vitest';
import { chooseCluster, fillCluster, fillPrefetch } from './cluster-choice.js';

describe('the cluster picked for the machine', () => {
  it('is 1 PS × 2 workers on 2 CPUs (the README says so), about one PS per three CPUs above', () => {
    expect(chooseCluster(1)).toEqual({ ps: 1, workersPerTrainer: 2 });
    expect(chooseCluster(2)).toEqual({ ps: 1, workersPerTrainer: 2 });
    expect(chooseCluster(16)).toEqual({ ps: 5, workersPerTrainer: 11 });
  });

  it('for supervised (one worker at least) is 1 PS × 1 worker on 2 CPUs, the same above', () => {
    expect(chooseCluster(2, 1)).toEqual({ ps: 1, workersPerTrainer: 1 });
    expect(chooseCluster(1, 1)).toEqual({ ps: 1, workersPerTrainer: 1 });
    expect(chooseCluster(16, 1)).toEqual({ ps: 5, workersPerTrainer: 11 });
    const job: Record<string, unknown> = {};
    expect(fillCluster(job, 2, 1)).toMatch(/^cluster: 1 PS × 1 worker threads, picked for 2 CPUs/);
  });

  it('fills only what the job leaves out, and says what it picked', () => {
    const job: Record<string, unknown> = { cluster: { ps: 3 } };
    expect(fillCluster(job, 2)).toMatch(/^cluster: 3 PS × 2 worker threads, picked for 2 CPUs/);
    expect(job.cluster).toEqual({ ps: 3, trainers: 1, workersPerTrainer: 2 });
    const chosen: Record<string, unknown> = { cluster: { ps: 2, workersPerTrainer: 4 } };
    expect(fillCluster(chosen, 2)).toBeNull();
    expect(chosen.cluster).toEqual({ ps: 2, workersPerTrainer: 4 });
  });

  it("turns ASP's prefetch on where the cluster's processes fit the CPUs, unless the job says", () => {
    const fits = (sync: unknown, cluster: Record<string, unknown>, cpus = 2) => {
      const job: Record<string, unknown> = { sync, cluster };
      return { on: fillPrefetch(job, cpus), sync: job.sync };
    };
    expect(fits('asp', { ps: 1, trainers: 1, workersPerTrainer: 1 })).toEqual({
      on: true,
      sync: { mode: 'asp', prefetch: true },
    });
    expect(fits({ mode: 'asp', cacheSteps: 2 }, { ps: 1, workersPerTrainer: 1 }).sync).toEqual({
      mode: 'asp',
      cacheSteps: 2,
      prefetch: true,
    });
    // 1 PS × 2 workers on 2 CPUs: one process more than the cores.
    expect(fits('asp', { ps: 1, trainers: 1, workersPerTrainer: 2 })).toEqual({ on: false, sync: 'asp' });
    expect(fits('asp', { ps: 5, trainers: 1, workersPerTrainer: 11 }, 16).on).toBe(true);
    expect(fits({ mode: 'asp', prefetch: false }, { ps: 1, workersPerTrainer: 1 }).on).toBe(false);
    expect(fits('bsp', { ps: 1, workersPerTrainer: 1 }).on).toBe(false);
    expect(fits(undefined, { ps: 1, workersPerTrainer: 1 }).on).toBe(false);
  });
});
