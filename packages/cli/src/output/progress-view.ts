import { appendFileSync } from 'node:fs';
import type { CliSettings } from '../config/load-config.js';

/**
 * How `rowshard train` shows a run: a redrawn progress bar on a TTY (loss, examples/s, ETA,
 * last held-out accuracy), a plain line per report otherwise, JSON event lines with --json,
 * only the summary with --quiet. Every progress and eval report also goes to the metrics
 * file (JSONL) when one is given.
 */
export class ProgressView {
  private readonly tty: boolean;
  private lastAccuracy: number | null = null;
  private lastLoss: number | null = null;
  private drawn = false;

  constructor(
    private readonly settings: CliSettings,
    private readonly totalSteps: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = Boolean(out.isTTY) && !settings.json && !settings.quiet;
  }

  /** Any event from any process of the run. */
  event(role: string, e: Record<string, unknown>): void {
    if (this.settings.json) {
      this.out.write(`${JSON.stringify({ role, ...e })}\n`);
    }
    if (role !== 'coordinator') return;
    if (e.event === 'progress' || e.event === 'eval') this.metric(e);
    if (e.event === 'eval' && typeof e.accuracy === 'number') this.lastAccuracy = e.accuracy;
    if (this.settings.json || this.settings.quiet) return;
    switch (e.event) {
      case 'progress':
        this.progress(e);
        break;
      case 'eval':
        this.line(
          `eval  step ${e.step}  loss ${fmt(e.loss as number, 4)}${typeof e.accuracy === 'number' ? `  accuracy ${(100 * e.accuracy).toFixed(1)}%` : ''}  (${evalScope(e as unknown as EvalScope)})`,
        );
        break;
      case 'listening':
        if (e.dashboard) this.line(`dashboard: ${e.dashboard} (sign in with ${e.signIn})`);
        break;
      case 'checkpoint':
        this.line(`checkpoint step ${e.step}: ${e.dir} (${fmtBytes(e.bytes as number)}, ${e.durationMs} ms)`);
        break;
      case 'checkpoint_failed':
        this.line(`checkpoint step ${e.step} failed, training goes on: ${e.reason}`);
        break;
      case 'checkpoint_skipped':
        this.line(`skipping checkpoint ${e.name}: ${e.reason}`);
        break;
      case 'resume':
        this.line(`resuming from ${e.dir} (step ${e.step})`);
        break;
      case 'recovering':
        this.line(`paused: ${e.reason}; restoring the last checkpoint`);
        break;
      case 'recovered':
        this.line(`recovered: continuing from step ${e.step}`);
        break;
    }
  }

  private progress(e: Record<string, unknown>): void {
    const step = e.step as number;
    const loss = e.loss as number;
    this.lastLoss = loss;
    const rate = e.examplesPerSec as number;
    const elapsed = e.elapsedSec as number;
    const eta = step > 0 ? (elapsed / step) * (this.totalSteps - step) : Number.NaN;
    const acc = this.lastAccuracy === null ? '' : `  acc ${(100 * this.lastAccuracy).toFixed(1)}%`;
    const text = `step ${step}/${this.totalSteps}  loss ${fmt(loss, 4)}  ${fmtRate(rate)} ex/s${acc}  ETA ${fmtSeconds(eta)}`;
    if (!this.tty) {
      this.line(text);
      return;
    }
    const width = 24;
    const filled = Math.round((width * Math.min(step, this.totalSteps)) / this.totalSteps);
    this.out.write(`\r[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${text}\u001b[K`);
    this.drawn = true;
  }

  private line(text: string): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
    this.out.write(`${text}\n`);
  }

  private metric(e: Record<string, unknown>): void {
    if (!this.settings.metrics) return;
    appendFileSync(this.settings.metrics, `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
  }

  /** The final summary (printed in every mode but --json, where the summary event says it). */
  summary(
    result: {
      steps: number;
      examples: number;
      seconds: number;
      losses: readonly (number | null)[];
      evals: readonly ({ accuracy: number | null } & EvalScope)[];
    },
    chance: number | null,
    checkpoints: CheckpointSummary | null,
  ): void {
    if (this.settings.json) return;
    if (this.drawn) this.out.write('\n');
    const finalLoss = [...result.losses].reverse().find((x) => typeof x === 'number');
    const last = result.evals.at(-1);
    const acc = last?.accuracy;
    const parts = [
      `done: ${result.steps} steps, ${result.examples} examples in ${result.seconds.toFixed(1)} s (${fmtRate(result.examples / result.seconds)} ex/s)`,
      `final loss ${fmt(finalLoss ?? this.lastLoss ?? Number.NaN, 4)}`,
    ];
    if (typeof acc === 'number')
      parts.push(
        `held-out accuracy ${(100 * acc).toFixed(1)}% on ${evalScope(last as EvalScope)}${chance ? ` (chance ${(100 * chance).toFixed(1)}%)` : ''}`,
      );
    if (checkpoints) parts.push(describeCheckpoints(checkpoints));
    this.out.write(`${parts.join('; ')}\n`);
  }
}

/** What an evaluation covered: its examples, and the eval set's size when the set has an end. */
export interface EvalScope {
  readonly examples: number;
  readonly setSize?: number | null;
}

/** `all 3,000 eval examples`, `1,024 of 3,000 eval examples`, `1,024 generated examples`. */
export function evalScope(e: EvalScope): string {
  const n = (x: number) => x.toLocaleString('en-US');
  if (e.setSize === undefined || e.setSize === null) return `${n(e.examples)} generated examples`;
  if (e.examples >= e.setSize) return `all ${n(e.setSize)} eval examples`;
  return `${n(e.examples)} of ${n(e.setSize)} eval examples`;
}

/** What a run's summary says about its checkpoints (null when the job takes none). */
export interface CheckpointSummary {
  readonly written: number;
  readonly failed: number;
  /** Step of the last checkpoint written, or null. */
  readonly lastStep: number | null;
  /** Whether the checkpoint at the job's last step was written. */
  readonly final: boolean;
}

export function checkpointSummary(
  result: { steps: number; lastCheckpointStep: number | null; checkpointsWritten: number; checkpointsFailed: number },
  enabled: boolean,
): CheckpointSummary | null {
  if (!enabled) return null;
  return {
    written: result.checkpointsWritten,
    failed: result.checkpointsFailed,
    lastStep: result.lastCheckpointStep,
    final: result.lastCheckpointStep === result.steps,
  };
}

function describeCheckpoints(c: CheckpointSummary): string {
  const counts = `checkpoints: ${c.written} written${c.failed > 0 ? `, ${c.failed} failed` : ''}`;
  if (c.final) return counts;
  return `${counts}, no final checkpoint (${c.lastStep === null ? 'none written' : `last at step ${c.lastStep}`})`;
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–';
}

function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}
