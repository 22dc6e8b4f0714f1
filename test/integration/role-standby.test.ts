import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { RoleStandby, startLocalCluster } from '@rowshard/cli';
import { describe, expect, it } from 'vitest';

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : once(child, 'exit').then(([code]) => code as number | null);

/**
 * Processes started ahead of their job (what `rowshard train` and `supervised` do during their
 * data pass): the cluster takes the ones its shape needs, spawns what is missing, and the ones
 * it does not take exit quietly once the standby lets them go.
 */
describe('RoleStandby', () => {
  it('a cluster runs on the processes started ahead; one it does not need exits 0', async () => {
    const standby = new RoleStandby();
    // The trainer starts two threads while it waits; the cluster asks for one, so it starts over with one.
    standby.startFor({ ps: 2, trainers: 1, workersPerTrainer: 2 });
    expect(standby.children).toHaveLength(4); // coordinator, 2 PS, 1 trainer
    const done: Record<string, unknown>[] = [];
    let bothDone: () => void = () => {};
    const trainersDone = new Promise<void>((resolve) => {
      bothDone = resolve;
    });
    const cluster = await startLocalCluster({
      onEvent: (role, e) => {
        if (role.startsWith('trainer') && e.event === 'done' && done.push(e) === 2) bothDone();
      },
      job: {
        seed: 2,
        model: { name: 'text_classifier', options: { vocabSize: 300, embeddingDim: 4, hiddenDim: 4, numClasses: 2 } },
        optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
        sync: 'bsp',
        steps: 6,
        batchSize: 16,
        data: { kind: 'synthetic_text', vocabSize: 300, seqLen: 6, numClasses: 2, seed: 3 },
      },
      // One shard and two trainers: the second shard is not taken, the second trainer is spawned.
      ps: 1,
      trainers: 2,
      workersPerTrainer: 1,
      standby,
    });
    try {
      const [coordinator, ps0, ps1, trainer0] = standby.children;
      expect(cluster.coordinator.child).toBe(coordinator);
      expect(cluster.ps.map((p) => p.child)).toEqual([ps0]);
      expect(cluster.trainers.map((p) => p.child)).toContain(trainer0);
      expect(cluster.trainers.filter((p) => !standby.children.includes(p.child))).toHaveLength(1);
      standby.close();
      expect(await exited(ps1)).toBe(0);
      const result = await cluster.result();
      expect(result.steps).toBe(6);
      await trainersDone;
      expect(done.map((e) => (e.workers as unknown[]).length)).toEqual([1, 1]);
    } finally {
      standby.close();
      await cluster.stop();
    }
  });

  it('processes started for a job that does not run exit 0 when let go', async () => {
    const standby = new RoleStandby();
    standby.startFor({ ps: 1, trainers: 1 });
    standby.startFor({ ps: 3 }); // only the first call starts anything
    expect(standby.children).toHaveLength(3);
    standby.close();
    expect(await Promise.all(standby.children.map(exited))).toEqual([0, 0, 0]);
  });

  it('starts none of a role whose size is not a small positive integer', () => {
    const standby = new RoleStandby();
    standby.startFor({ ps: 'two', trainers: 0 });
    try {
      expect(standby.children).toHaveLength(1); // the coordinator
    } finally {
      standby.close();
    }
  });
});
