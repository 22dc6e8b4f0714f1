import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFastTextModel } from '@rowshard/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parkMiller, rowshardCli, scratchDir } from './fasttext-kit.js';

/**
 * `rowshard supervised -autotune-validation`: real trials (each a whole supervised run), a
 * real validation file, the kept model read back by `rowshard test` and by the installed
 * fastText. Nothing here depends on how many trials fit in the time, only that there were two
 * or more and that the score printed as the best is the kept model's.
 */
const dir = scratchDir('rowshard-autotune-');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [rowshardCli, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });

/** Four classes, each planting its own words among shared noise words (as fasttext.test.ts). */
function corpus(n: number, seed: number): string {
  const rand = parkMiller(seed);
  const classes = ['sports', 'politics', 'science', 'music'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = classes[i % 4];
    const words = Array.from({ length: 6 + rand(8) }, () => `w${rand(300)}`);
    for (let k = 0; k < 2; k++) words.splice(rand(words.length + 1), 0, `${c.slice(0, 3)}${rand(8)}`);
    lines.push(`__label__${c} ${words.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

const fastTextInstalled = spawnSync('fasttext', [], { encoding: 'utf8' }).error === undefined;

describe('rowshard supervised -autotune-*', () => {
  beforeAll(() => {
    writeFileSync(join(dir, 'train.txt'), corpus(200, 7));
    // 100 lines, one label each: with one prediction a line, F1 = P@1 = R@1 = right / 100.
    writeFileSync(join(dir, 'valid.txt'), corpus(100, 11));
  });

  it('searches, keeps the best trial at -output, and its score is what rowshard test and fastText test measure', () => {
    const r = run(
      'supervised',
      '-input',
      'train.txt',
      '-output',
      'tuned',
      '-autotune-validation',
      'valid.txt',
      '-autotune-duration',
      '18',
      // Kept small so that every trial is quick; the rest is searched.
      '-dim',
      '8',
      '-bucket',
      '20000',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('Warning : dim is manually set to a specific value. It will not be automatically optimized.');
    const trials = [...r.stderr.matchAll(/^trial (\d+): (.*?): (?:f1 (\d\.\d{6})|stopped|failed)/gm)];
    expect(trials.length).toBeGreaterThanOrEqual(2);
    // The first trial is the command line as given, with rowshard's defaults for the rest.
    expect(trials[0][2]).toBe('-epoch 5 -lr 0.4 -dim 8 -wordNgrams 1 -minn 0 -maxn 0 -bucket 20000 -loss softmax');
    const best = /^Best selected args \(trial (\d+) of (\d+)\): (.*)$/m.exec(r.stderr);
    expect(best, r.stderr).not.toBeNull();
    const [, bestTrial, , bestArgs] = best as RegExpExecArray;
    const bestScore = Number((/^Best f1 on .*valid\.txt: (\d\.\d{6})$/m.exec(r.stderr) as RegExpExecArray)[1]);
    const scored = trials.filter((t) => t[3] !== undefined).map((t) => ({ n: t[1], args: t[2], score: Number(t[3]) }));
    expect(Math.max(...scored.map((t) => t.score))).toBe(bestScore);
    expect(scored.find((t) => t.n === bestTrial)).toEqual({ n: bestTrial, args: bestArgs, score: bestScore });
    expect(existsSync(join(dir, 'tuned.bin'))).toBe(true);
    expect(existsSync(join(dir, 'tuned.vec'))).toBe(true);

    // The file kept is the best trial's: its arguments are the ones printed.
    const dumped = Object.fromEntries(
      run('dump', 'tuned.bin', 'args')
        .stdout.trim()
        .split('\n')
        .map((l) => l.split(' ')),
    );
    const chosen = Object.fromEntries(bestArgs.match(/-\w+ \S+/g)?.map((f) => f.slice(1).split(' ')) ?? []);
    for (const name of ['dim', 'epoch', 'wordNgrams', 'minn', 'maxn', 'loss']) expect(dumped[name], name).toBe(chosen[name]);

    // F1 with one label a line and one prediction a line is P@1 (= R@1): what test prints, exactly (N = 100).
    const test = run('test', 'tuned.bin', 'valid.txt');
    expect(test.status, test.stderr).toBe(0);
    const [n, p1, r1] = test.stdout.trim().split('\n');
    expect(n).toBe('N\t100');
    expect(Number(p1.split('\t')[1])).toBe(bestScore);
    expect(Number(r1.split('\t')[1])).toBe(bestScore);
    if (fastTextInstalled) {
      const ft = spawnSync('fasttext', ['test', 'tuned.bin', 'valid.txt'], { encoding: 'utf8', cwd: dir });
      expect(ft.status, ft.stderr).toBe(0);
      expect(ft.stdout).toBe(test.stdout);
    }
  });

  it('scores with the metric asked for, of one label, on every label predicted; under -autotune-modelsize keeps a .ftz within it', () => {
    const r = run(
      'supervised',
      '-input',
      'train.txt',
      '-output',
      'sub/pr',
      '-autotune-validation',
      'valid.txt',
      '-autotune-duration',
      '10',
      '-autotune-metric',
      'recallAtPrecision:50:__label__sports',
      '-autotune-predictions',
      '-1',
      '-autotune-modelsize',
      '40k',
      '-dim',
      '4',
      '-bucket',
      '1000',
      '-epoch',
      '2',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('metric recallAtPrecision:50:__label__sports');
    expect(r.stderr).toContain('with every label a line');
    const score = Number((/^Best recallAtPrecision:50:__label__sports on .*: (\S+)$/m.exec(r.stderr) as RegExpExecArray)[1]);
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(1);
    // Each trial quantised (-dsub searched), its size printed; the one kept is PREFIX.ftz, within the size.
    expect(r.stderr).toMatch(/^trial 1: .* -dsub 2: -cutoff \d+, \d+ bytes, recallAtPrecision/m);
    // -output in a directory not there yet: made, as supervised makes it.
    expect(statSync(join(dir, 'sub/pr.ftz')).size).toBeLessThanOrEqual(40_000);
    expect(existsSync(join(dir, 'sub/pr.bin'))).toBe(false);
    expect(readFileSync(join(dir, 'sub/pr.vec'), 'utf8').split('\n')[0]).toMatch(/^\d+ 4$/);
    const ours = run('test', 'sub/pr.ftz', 'valid.txt');
    expect(ours.status, ours.stderr).toBe(0);
    if (fastTextInstalled)
      expect(spawnSync('fasttext', ['test', 'sub/pr.ftz', 'valid.txt'], { encoding: 'utf8', cwd: dir }).stdout).toBe(ours.stdout);
  });

  it('under -autotune-modelsize, cuts each trial to the rows that fit (-cutoff, -retrain) as fastText does', () => {
    const r = run(
      // -wordNgrams given, so every trial has its 1000 bucket rows: more than fit.
      ...['supervised', '-input', 'train.txt', '-output', 'cutfit', '-dim', '4', '-bucket', '1000', '-wordNgrams', '2'],
      ...['-autotune-validation', 'valid.txt', '-autotune-duration', '10', '-autotune-modelsize', '15k'],
    );
    expect(r.status, r.stderr).toBe(0);
    // fastText's getCutoffForFileSize for -dim 4, 4 labels, -qnorm, -dsub 2 at 15k: 824 rows.
    expect(r.stderr).toMatch(/^trial 1: .* -dsub 2: -cutoff 824, \d+ bytes, f1 /m);
    const best = Number((/^Best selected args \(trial (\d+) /m.exec(r.stderr) as RegExpExecArray)[1]);
    const cutoff = Number((new RegExp(`^trial ${best}: .*: -cutoff (\\d+), `, 'm').exec(r.stderr) as RegExpExecArray)[1]);
    const ftz = readFileSync(join(dir, 'cutfit.ftz'));
    // fastText's estimate of a row's bytes, not a bound: fastText's own .ftz here is 16,663 bytes.
    expect(ftz.length).toBeLessThanOrEqual(18_000);
    // The kept model is cut to that many rows, its dictionary pruned (a pruning map written).
    const kept = parseFastTextModel(ftz, 'cutfit.ftz');
    expect(kept.input.rows).toBe(cutoff);
    expect(kept.dict.pruneIndexSize).toBe(cutoff - kept.dict.nwords);
    const ours = run('test', 'cutfit.ftz', 'valid.txt');
    expect(ours.status, ours.stderr).toBe(0);
    if (fastTextInstalled)
      expect(spawnSync('fasttext', ['test', 'cutfit.ftz', 'valid.txt'], { encoding: 'utf8', cwd: dir }).stdout).toBe(ours.stdout);
  });

  it('refuses bad autotune flags with exit 2 and a line naming the flag', () => {
    const base = ['supervised', '-input', 'train.txt', '-output', 'bad'];
    const refused = (args: string[], message: RegExp) => {
      const r = run(...base, ...args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    refused(['-autotune-validation', 'missing.txt'], /-autotune-validation .*missing\.txt: no such file/);
    refused(['-autotune-validation', 'valid.txt', '-autotune-metric', 'f2'], /-autotune-metric "f2": unknown metric/);
    refused(['-autotune-validation', 'valid.txt', '-autotune-metric', 'f1:'], /-autotune-metric "f1:": the label is empty/);
    refused(
      ['-autotune-validation', 'valid.txt', '-autotune-metric', 'precisionAtRecall:lots'],
      /-autotune-metric "precisionAtRecall:lots": "lots" is not a percentage/,
    );
    refused(
      ['-autotune-validation', 'valid.txt', '-autotune-metric', 'f1:sports'],
      /-autotune-metric f1:sports: "sports" is not a label/,
    );
    refused(['-autotune-validation', 'valid.txt', '-autotune-duration', 'soon'], /-autotune-duration/);
    refused(['-autotune-validation', 'valid.txt', '-autotune-duration', '0'], /-autotune-duration/);
    refused(
      ['-autotune-validation', 'valid.txt', '-autotune-predictions', '0'],
      /-autotune-predictions must be a positive integer or -1/,
    );
    refused(['-autotune-duration', '10'], /-autotune-duration needs -autotune-validation FILE/);
    for (const size of ['2X', 'M', '0', '1.5M'])
      refused(['-autotune-validation', 'valid.txt', '-autotune-modelsize', size], /-autotune-modelsize "[^"]*": not a size/);
    expect(existsSync(join(dir, 'bad.bin'))).toBe(false);
  });

  it('a metric label the model does not have is refused once the first model is there', () => {
    const r = run(
      ...['supervised', '-input', 'train.txt', '-output', 'nolabel', '-dim', '4', '-bucket', '1000', '-epoch', '1'],
      ...['-autotune-validation', 'valid.txt', '-autotune-metric', 'f1:__label__cooking', '-autotune-duration', '30'],
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/-autotune-metric f1:__label__cooking: the model has no label "__label__cooking"/);
    expect(existsSync(join(dir, 'nolabel.bin'))).toBe(false);
  });

  it('says so when no model fits -autotune-modelsize (exit 1), as fastText does', () => {
    const r = run(
      ...['supervised', '-input', 'train.txt', '-output', 'tiny', '-dim', '4', '-bucket', '1000', '-epoch', '1'],
      ...['-autotune-validation', 'valid.txt', '-autotune-duration', '6', '-autotune-modelsize', '5k'],
    );
    expect(r.status, r.stderr).toBe(1);
    // Over the size: as fastText's, no -cutoff over 256 rows fits.
    expect(r.stderr).toMatch(/^trial 1: .*: quantised, no -cutoff over 256 rows fits: over -autotune-modelsize \(5000\)/m);
    expect(r.stderr).toContain('autotune could not fulfil the model size constraint: raise -autotune-modelsize (5000 bytes)');
    expect(existsSync(join(dir, 'tiny.ftz'))).toBe(false);
  });

  it('says so when not one trial finished in the time given (exit 1), as fastText does', () => {
    // A corpus no machine trains 5 epochs of in a second (200 training lines took 0.9 s here
    // once start-up got faster): 200,000 lines, about 31,000 steps a trial.
    writeFileSync(join(dir, 'big.txt'), corpus(200_000, 13));
    const r = run(
      ...['supervised', '-input', 'big.txt', '-output', 'short', '-dim', '4', '-bucket', '1000'],
      ...['-autotune-validation', 'valid.txt', '-autotune-duration', '1'],
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^trial 1: .*: stopped, out of time/m);
    expect(r.stderr).toContain('autotune had not enough time to train once: raise -autotune-duration (1 s)');
    expect(existsSync(join(dir, 'short.bin'))).toBe(false);
  });
});
