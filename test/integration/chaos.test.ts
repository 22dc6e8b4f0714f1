import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalCluster, type ManagedProcess, readManifest, startLocalCluster } from '@rowshard/cli';
import type { JobResult } from '@rowshard/coordinator';
import { type CheckpointManifest, checkpointDirName } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Chaos (issue 12, "Hardening"): one BSP run on real processes (a coordinator, 2 parameter
 * servers, 2 trainers of one worker each) takes 5 faults at random steps, each a kill -9 or a
 * SIGSTOP … SIGCONT of a random process, and must end with the tables, optimizer slots and
 * dense state of an uninterrupted run, bit for bit (README, "Failure model").
 *
 * The schedule (steps, victims, kinds, pause lengths) comes from a seeded generator; the seed
 * is printed and ROWSHARD_CHAOS_SEED replays that schedule. Where in a step each signal lands
 * is up to the operating system, so a seed reproduces the schedule, not the interleaving: the
 * outcome must not depend on it.
 *
 * A short pause (0.2–1.5 s, under the heartbeat's two intervals of 2 s) makes a process slow;
 * a stall (4.5–5.5 s, at most two a run: each costs its length) makes it lost to its peers,
 * which drop its connections and recover without it, though it never died; all three kinds
 * are in the README's failure model. Beyond the final state, the test checks that no process
 * died that it did not kill.
 *
 * A trainer killed after the coordinator lost the trainers' membership connections while they
 * lived on (the coordinator was killed or stalled, or a trainer stalled) is in the schedule
 * too: live trainers claim their ranks again when their connection comes back, so the
 * replacement gets the killed trainer's ranks (the second test pins that case down).
 */
const STEPS = 60;
const FAULTS = 5;
/**
 * A run that hangs fails with its seed and faults, before the test's own timeout. A run takes
 * 10–25 s (a worker whose shard was killed gives up on it after two heartbeat intervals and
 * joins the recovery); the deadline leaves room for a slow machine.
 */
const RUN_DEADLINE_MS = 200_000;
const root = mkdtempSync(join(tmpdir(), 'rowshard-chaos-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const job = (dir: string) => ({
  seed: 12,
  model: { name: 'text_classifier', options: { vocabSize: 1000, embeddingDim: 8, hiddenDim: 8, numClasses: 3, dropout: 0.1 } },
  optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
  sync: 'bsp',
  steps: STEPS,
  batchSize: 32,
  data: { kind: 'synthetic_text', vocabSize: 1000, seqLen: 12, numClasses: 3 },
  checkpoint: { dir, everySteps: 5 },
  logEverySteps: 1,
  // Rank 0 takes a few ms longer per step, so signals land in the middle of steps too.
  debug: { slowRanks: { '0': 5 } },
});
const sizes = { ps: 2, trainers: 2, workersPerTrainer: 1 };

/** mulberry32: a small seeded generator, floats in [0, 1). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Victim = 'coordinator' | 'ps 0' | 'ps 1' | 'trainer 0' | 'trainer 1' | 'the trainer of rank 1';
const VICTIMS: readonly Victim[] = ['coordinator', 'ps 0', 'ps 1', 'trainer 0', 'trainer 1'];

interface Fault {
  /** Injected once the run's progress reaches this step (again, after a rollback). */
  readonly step: number;
  readonly victim: Victim;
  readonly kind: 'kill' | 'pause' | 'stall';
  /** SIGSTOP to SIGCONT (pause and stall). */
  readonly pauseMs: number;
}

function schedule(seed: number): Fault[] {
  const random = generator(seed);
  const steps = new Set<number>();
  while (steps.size < FAULTS) steps.add(4 + Math.floor(random() * (STEPS - 14)));
  let stalls = 0;
  return [...steps]
    .sort((a, b) => a - b)
    .map((step) => {
      const victim = VICTIMS[Math.floor(random() * VICTIMS.length)];
      const draw = random();
      const kind: Fault['kind'] = draw < 0.4 ? 'kill' : draw < 0.8 || stalls >= 2 ? 'pause' : 'stall';
      if (kind === 'stall') stalls++;
      const pauseMs = kind === 'stall' ? 4500 + Math.floor(random() * 1000) : 200 + Math.floor(random() * 1300);
      return { step, victim, kind, pauseMs };
    });
}

function processOf(cluster: LocalCluster, victim: Victim): ManagedProcess {
  if (victim === 'coordinator') return cluster.coordinator;
  if (victim === 'the trainer of rank 1') return cluster.trainers.find((t) => (t.ready.ranks as number[]).includes(1))!;
  return victim.startsWith('ps') ? cluster.ps[Number(victim.slice(3))] : cluster.trainers[Number(victim.slice(8))];
}

/** What a run went through, kept when it fails: the faults, then restarts and recoveries. */
interface Log {
  readonly injected: string[];
  readonly happened: string[];
}

const fingerprint = (m: CheckpointManifest) => ({ shards: m.shards.map((s) => s.sha256), dense: m.dense.sha256 });
const finalManifest = (dir: string) => readManifest(join(dir, checkpointDirName(STEPS)));

/**
 * Runs the job; with `faults`, injects them one at a time: each once progress reaches its
 * step, a killed process's replacement is up and the previous pause is over.
 */
async function run(dir: string, faults: readonly Fault[] = [], log: Log = { injected: [], happened: [] }) {
  let cluster: LocalCluster | null = null;
  const { injected, happened } = log;
  const killed = new Map<Victim, number>();
  /** Sends the SIGCONT of a pause in progress (at its end, or at once if the run fails). */
  const pausing: { resume: (() => void) | null } = { resume: null };
  let next = 0;
  /** Until the previous fault is over: the SIGCONT is sent, or the killed process is replaced. */
  let settled: () => boolean = () => true;
  const inject = (atStep: number) => {
    const fault = faults[next++];
    const p = processOf(cluster!, fault.victim);
    const child = p.child;
    injected.push(`${fault.kind} ${fault.victim} at step ${atStep}${fault.kind === 'kill' ? '' : ` for ${fault.pauseMs} ms`}`);
    if (fault.kind === 'kill') {
      killed.set(fault.victim, (killed.get(fault.victim) ?? 0) + 1);
      child.kill('SIGKILL');
      settled = () => p.child !== child;
    } else {
      let over = false;
      child.kill('SIGSTOP');
      const timer = setTimeout(() => pausing.resume?.(), fault.pauseMs);
      pausing.resume = () => {
        clearTimeout(timer);
        child.kill('SIGCONT');
        over = true;
        pausing.resume = null;
      };
      settled = () => over;
    }
  };
  try {
    cluster = await startLocalCluster({
      job: job(dir),
      ...sizes,
      onEvent: (role, e) => {
        if (e.event === 'restarting') happened.push(`${role} restarted (${e.reason})`);
        if (e.event === 'recovering') happened.push(`recovery (${e.reason})`);
        if (e.event === 'recovered') happened.push(`resumed at step ${e.step}`);
        if (e.event === 'checkpoint') happened.push(`checkpoint ${e.step}`);
        if (e.event === 'checkpoint_failed') happened.push(`checkpoint ${e.step} failed (${e.reason})`);
        if (e.event === 'checkpoint_skipped') happened.push(`checkpoint skipped (${JSON.stringify(e)})`);
        if (role !== 'coordinator' || e.event !== 'progress' || next >= faults.length || !cluster) return;
        if (settled() && Number(e.step) >= faults[next].step) inject(Number(e.step));
      },
    });
    let deadline: NodeJS.Timeout | undefined;
    const result: JobResult = await Promise.race([
      cluster.result(),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error(`the run did not finish in ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS);
      }),
    ]).finally(() => clearTimeout(deadline));
    // Every process the launcher restarted, and how often: only those this test killed.
    const restarts = Object.fromEntries(VICTIMS.map((v) => [v, processOf(cluster!, v).restarts]));
    return { result, restarts, kills: Object.fromEntries(VICTIMS.map((v) => [v, killed.get(v) ?? 0])) };
  } finally {
    pausing.resume?.();
    await cluster?.stop();
  }
}

describe('chaos', () => {
  it(`${FAULTS} kills, pauses and stalls of random processes at random steps: the final state is bitwise an uninterrupted run's`, async () => {
    const seed = Number(process.env.ROWSHARD_CHAOS_SEED ?? randomInt(2 ** 31));
    const faults = schedule(seed);
    const plan = faults.map((f) => `${f.kind} ${f.victim} at step ${f.step}`).join(', ');
    console.log(`chaos seed ${seed} (ROWSHARD_CHAOS_SEED=${seed} replays it): ${plan}`);

    const clean = await run(join(root, 'clean'));
    const log: Log = { injected: [], happened: [] };
    const context = () => `seed ${seed}; injected: ${log.injected.join(', ')}; then: ${log.happened.join('; ') || 'nothing'}`;
    const chaos = await run(join(root, 'chaos'), faults, log).catch((e: Error) => {
      throw new Error(`${context()}: ${e.message}`);
    });
    console.log(`chaos ${context()}`);

    expect(log.injected, context()).toHaveLength(FAULTS);
    expect(chaos.result.steps, context()).toBe(STEPS);
    expect(chaos.restarts, context()).toEqual(chaos.kills);
    // Where the runs parted, should they: the first step whose loss this coordinator saw differs.
    const parted = chaos.result.losses.findIndex((loss, step) => loss !== null && loss !== clean.result.losses[step]);
    const where = parted < 0 ? 'every loss seen is the same' : `the loss of step ${parted} differs first`;
    expect(fingerprint(finalManifest(join(root, 'chaos'))), `${context()}; ${where}`).toEqual(
      fingerprint(finalManifest(join(root, 'clean'))),
    );
    // Every step's loss this coordinator saw is the uninterrupted run's (a restarted one
    // knows none from before its checkpoint).
    chaos.result.losses.forEach((loss, step) => {
      if (loss !== null) expect(loss, `${context()}; loss of step ${step}`).toBe(clean.result.losses[step]);
    });
    expect(chaos.result.losses.at(-1), context()).toBe(clean.result.losses.at(-1));
  }, 250_000);

  // Once a bug: the coordinator restarts with every rank free, the trainer of rank 1 is killed,
  // and its replacement was handed rank 0, which the other trainer still ran; rank 1 was run
  // by no one and every BSP step timed out. Live trainers now claim their ranks again when
  // their connection to the coordinator comes back.
  it('a trainer killed after a coordinator restart is replaced with its own ranks', async () => {
    const faults: Fault[] = [
      { step: 10, victim: 'coordinator', kind: 'kill', pauseMs: 0 },
      { step: 20, victim: 'the trainer of rank 1', kind: 'kill', pauseMs: 0 },
    ];
    const log: Log = { injected: [], happened: [] };
    const chaos = await run(join(root, 'rank-pool'), faults, log);
    expect(chaos.result.steps, log.happened.join('; ')).toBe(STEPS);
  }, 250_000);
});
