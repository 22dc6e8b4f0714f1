/**
 * The cluster `rowshard train` and `rowshard supervised` run on when the job does not say:
 * parameter servers and worker threads for this machine's CPUs. Measured with
 * `pnpm bench:train --grid` on a 2-CPU machine (README, "Numbers"): 1 PS × 2 workers was the
 * fastest in ASP, and in BSP 2 × 2 (pooling on both shards) ran 7% more examples/s for 21%
 * more CPU per example; 1 × 1 costs the least CPU per example, and every further process adds
 * messages per step. The same proportions (about one PS per
 * three CPUs, the rest workers) are carried to larger machines, which we have not measured.
 * `minWorkers`: at least two for `rowshard train` (the text classifier's worker compute keeps
 * two busy); one for `supervised`, whose workers do little once the shard sums each text
 * (sync.poolBags): on 2 CPUs 1 × 1 reached fastText's best P@1 in 2.89 s against 3.08 s for
 * 1 × 2, median of 5 alternated runs (docs/PERFORMANCE.md, fastText).
 */
export interface ClusterChoice {
  readonly ps: number;
  readonly workersPerTrainer: number;
}

/** CPUs to size a cluster for, and the fewest worker threads the command wants. */
export interface MachineSizing {
  readonly cpus: number;
  readonly minWorkers: number;
}

export function chooseCluster(cpus: number, minWorkers = 2): ClusterChoice {
  const n = Math.max(1, Math.floor(cpus));
  const ps = Math.max(1, Math.floor(n / 3));
  return { ps, workersPerTrainer: Math.max(minWorkers, n - ps) };
}

/**
 * Fills the cluster sizes a job leaves out (ps, workersPerTrainer; trainers stays 1) with the
 * choice for `cpus`; returns a line saying what was picked, or null when the job chose.
 */
export function fillCluster(job: Record<string, unknown>, cpus: number, minWorkers = 2): string | null {
  const cluster = (job.cluster ?? {}) as Record<string, unknown>;
  if (cluster.ps !== undefined && cluster.workersPerTrainer !== undefined) return null;
  const choice = chooseCluster(cpus, minWorkers);
  const filled = {
    ps: cluster.ps ?? choice.ps,
    trainers: cluster.trainers ?? 1,
    workersPerTrainer: cluster.workersPerTrainer ?? choice.workersPerTrainer,
  };
  job.cluster = { ...cluster, ...filled };
  return `cluster: ${filled.ps} PS × ${Number(filled.trainers) * Number(filled.workersPerTrainer)} worker threads, picked for ${cpus} CPUs (the job's cluster, or the command's PS and worker flags, choose otherwise)`;
}

/**
 * ASP's prefetch (sync.prefetch) where the job leaves it out: on when the cluster's processes
 * fit `cpus` one to a core (parameter servers plus worker threads), so that what a worker
 * would spend waiting for its shards is spent computing its next step. On 2 CPUs, fastText's
 * 1 PS × 1 worker on a 44 MB corpus ran 100 steps in 0.31–0.32 s with it and 0.39–0.45 s
 * without; `pnpm bench:train --prefetch` (1 PS × 2 workers, one process more than the cores)
 * ran 0.73–0.79× as many examples a second with it. Returns whether it was turned on.
 */
export function fillPrefetch(job: Record<string, unknown>, cpus: number): boolean {
  const sync = typeof job.sync === 'string' ? { mode: job.sync } : job.sync;
  if (typeof sync !== 'object' || sync === null) return false;
  const asp = sync as Record<string, unknown>;
  if (asp.mode !== 'asp' || asp.prefetch !== undefined) return false;
  const cluster = (job.cluster ?? {}) as Record<string, unknown>;
  const processes = Number(cluster.ps) + Number(cluster.trainers ?? 1) * Number(cluster.workersPerTrainer);
  if (!(processes <= Math.floor(cpus))) return false;
  job.sync = { ...asp, prefetch: true };
  return true;
}
