import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './stats.js';

/** A trained setting as bench:fasttext's `train` measures it. */
interface TrainedRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly p1: number;
}

/** What bench:fasttext's "scale" section needs from the bench. */
export interface ScaleBench {
  readonly corpus: string;
  readonly threads: string;
  readonly scratch: string;
  /** How many times the training file is repeated. */
  readonly copies: number;
  readonly log: (line: string) => void;
  /** Trains one setting on `file` and scores it (`sameThreads`: with -thread, else rowshard's own cluster). */
  readonly train: (system: 'fasttext' | 'rowshard', args: string[], sameThreads: boolean, file: string) => TrainedRun;
}

/** One epoch of the training file repeated `--copies` times, by both: the cost of an example at scale. */
export function scaleReport({ corpus, threads, scratch, copies, log, train }: ScaleBench) {
  const work = mkdtempSync(join(scratch, 'rowshard-ftscale-'));
  try {
    const text = readFileSync(join(corpus, 'train.txt'));
    const big = join(work, 'train.txt');
    writeFileSync(big, Buffer.concat(Array.from({ length: copies }, () => text)));
    const examples =
      copies *
      text
        .toString('latin1')
        .split('\n')
        .filter((l) => l.includes('__label__')).length;
    const entrants = [
      { system: 'fasttext' as const, args: ['-lr', '1.0', '-epoch', '1', '-wordNgrams', '2'], same: true },
      { system: 'rowshard' as const, args: ['-epoch', '1', '-wordNgrams', '2'], same: false },
    ];
    const runs: TrainedRun[][] = entrants.map(() => []);
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < entrants.length; i++) {
        const k = (i + round) % entrants.length;
        runs[k].push(train(entrants[k].system, entrants[k].args, entrants[k].same, big));
      }
    const summary = entrants.map((e, k) => {
      const seconds = median(runs[k].map((r) => r.seconds));
      return {
        system: e.system,
        args: `${e.args.join(' ')}${e.same ? ` -thread ${threads}` : ' (its own cluster)'}`,
        seconds,
        cpuSeconds: median(runs[k].map((r) => r.cpuSeconds)),
        examplesPerSecond: Math.round(examples / seconds),
        p1: median(runs[k].map((r) => r.p1)),
      };
    });
    const ratio = Math.round((summary[1].seconds / summary[0].seconds) * 100) / 100;
    log(
      `one epoch of ${copies} copies of the training file (${examples} examples), model files in ${scratch}, median of 2 runs each:`,
    );
    for (const s of summary)
      log(
        `${s.system.padEnd(9)} ${s.args.padEnd(46)} ${s.seconds.toFixed(1)} s  CPU ${s.cpuSeconds.toFixed(1)} s  ${s.examplesPerSecond} examples/s  P@1 ${s.p1.toFixed(3)}`,
      );
    log(`rowshard / fastText: wall time ${ratio}×`);
    return { copies, examples, summary, rowshardOverFastText: ratio };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
