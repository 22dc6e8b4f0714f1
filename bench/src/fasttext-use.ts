import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { endedChildrenCpuMs } from './cpu-time.js';
import { median, timed } from './stats.js';

/** What bench:fasttext's "use" section needs from the bench: the CLI, the corpus, threads, where models go, its log. */
export interface UseBench {
  readonly cli: string;
  readonly corpus: string;
  readonly threads: string;
  readonly scratch: string;
  readonly log: (line: string) => void;
}

/**
 * Using a trained model: `test` and `predict` on the held-out lines by each system's own
 * command, on one model (rowshard's, at the race's settings: fastText reads it, so both load
 * the same 811 MB file), three rounds in alternation, median wall and CPU time.
 */
export function useReport({ cli, corpus, threads, scratch, log }: UseBench) {
  const out = mkdtempSync(join(scratch, 'rowshard-ftbench-'));
  try {
    const model = join(out, 'model');
    const train = ['supervised', '-input', join(corpus, 'train.txt'), '-output', model, '-thread', threads];
    execFileSync(process.execPath, [cli, ...train, '-epoch', '1', '-wordNgrams', '2'], { stdio: 'ignore' });
    const systems = [
      { system: 'fasttext', command: 'fasttext', prefix: [] as string[] },
      { system: 'rowshard', command: process.execPath, prefix: [cli] },
    ];
    const commands = ['test', 'predict'];
    const times = new Map<string, { seconds: number[]; cpuSeconds: number[] }>();
    for (let round = 0; round < 3; round++)
      for (const command of commands)
        for (const s of round % 2 === 0 ? systems : [...systems].reverse()) {
          const key = `${s.system} ${command}`;
          const entry = times.get(key) ?? { seconds: [], cpuSeconds: [] };
          const cpu0 = endedChildrenCpuMs();
          entry.seconds.push(
            timed(() =>
              execFileSync(s.command, [...s.prefix, command, `${model}.bin`, join(corpus, 'test.txt')], {
                stdio: 'ignore',
              }),
            ),
          );
          entry.cpuSeconds.push((endedChildrenCpuMs() - cpu0) / 1000);
          times.set(key, entry);
        }
    const summary = [...times].map(([key, t]) => ({ key, seconds: median(t.seconds), cpuSeconds: median(t.cpuSeconds) }));
    log(
      `using the model: test and predict on ${join(corpus, 'test.txt')}, a .bin in ${scratch}, median of 3 runs each (alternating):`,
    );
    for (const s of summary) log(`${s.key.padEnd(18)} ${s.seconds.toFixed(2)} s  CPU ${s.cpuSeconds.toFixed(2)} s`);
    const ratios = Object.fromEntries(
      commands.map((c) => {
        const of = (system: string) => summary.find((x) => x.key === `${system} ${c}`)?.seconds ?? Number.NaN;
        return [c, Math.round((of('rowshard') / of('fasttext')) * 100) / 100];
      }),
    );
    log(`rowshard / fastText wall time: test ${ratios.test}×, predict ${ratios.predict}×`);
    return { scratch, summary, rowshardOverFastText: ratios };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
