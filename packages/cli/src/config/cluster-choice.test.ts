import { describe, expect, it } from 'vitest';
import { chooseCluster, fillCluster } from './cluster-choice.js';

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
});
