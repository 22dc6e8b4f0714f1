import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { maxAbsDiff } from '@rowshard/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { parkMiller, rowshardCli, scratchDir } from './fasttext-kit.js';

/**
 * fastText's command lines through a real cluster, on a small corpus made here: four classes,
 * each planting its own words among shared noise words, in fastText's format.
 */
const dir = scratchDir('rowshard-ft-');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [rowshardCli, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });

function corpus(n: number, seed: number): string {
  const rand = parkMiller(seed);
  const classes = ['sports', 'politics', 'science', 'music'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = classes[i % 4];
    const words = Array.from({ length: 6 + rand(8) }, () => `w${rand(300)}`);
    for (let k = 0; k < 2; k++) words.splice(rand(words.length + 1), 0, `${c.slice(0, 3)}${rand(8)}`);
    lines.push(`__label__${c} ${words.join(' ')}${i % 7 === 0 ? ' !' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('rowshard supervised / test / predict', () => {
  beforeAll(() => {
    writeFileSync(join(dir, 'train.txt'), corpus(200, 7));
    writeFileSync(join(dir, 'test.txt'), corpus(100, 11));
  });

  it('trains with fastText flags and writes model.bin (a fastText .bin) and model.vec', () => {
    const r = run(
      'supervised',
      '-input',
      'train.txt',
      '-output',
      'model',
      '-dim',
      '16',
      '-epoch',
      '10',
      // BSP: the same model every run (ASP, the default, is as nondeterministic as fastText's threads);
      // small batches, as 200 examples make few steps.
      '-sync',
      'bsp',
      '-batch',
      '16',
      '-wordNgrams',
      '2',
      '-bucket',
      '50000',
      '-saveOutput',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${join(dir, 'model.bin')} (fastText 0.9.2's format) and ${join(dir, 'model.vec')}`);
    expect(existsSync(join(dir, 'model.bin'))).toBe(true);
    // fastText's signature and version 12.
    expect([...readFileSync(join(dir, 'model.bin')).subarray(0, 8)]).toEqual([0xba, 0x16, 0x4f, 0x2f, 12, 0, 0, 0]);
    const vec = readFileSync(join(dir, 'model.vec'), 'utf8').split('\n');
    const [count, dim] = vec[0].split(' ').map(Number);
    expect(dim).toBe(16);
    expect(count).toBeGreaterThan(300);
    // As fastText writes .vec: the word, then each value followed by a space.
    expect(vec[1].split(' ')).toHaveLength(18);
    // -saveOutput: the output matrix, one row per label, as fastText writes model.output.
    const out = readFileSync(join(dir, 'model.output'), 'utf8').trim().split('\n');
    expect(out[0]).toBe('4 16');
    expect(
      out
        .slice(1)
        .map((l) => l.split(' ')[0])
        .sort(),
    ).toEqual(['__label__music', '__label__politics', '__label__science', '__label__sports']);
  });

  it('test prints N, P@1 and R@1 as fastText does, and learns the corpus', () => {
    const r = run('test', 'model.bin', 'test.txt');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('N\t100');
    // fastText prints 3 significant digits (0.99, 1, 0.913).
    expect(lines[1]).toMatch(/^P@1\t(1|0\.\d{1,3})$/);
    expect(lines[2]).toMatch(/^R@1\t(1|0\.\d{1,3})$/);
    expect(Number(lines[1].split('\t')[1])).toBeGreaterThan(0.9); // chance is 0.25
    const k2 = run('test', 'model.bin', 'test.txt', '2').stdout.trim().split('\n');
    expect(k2[1]).toMatch(/^P@2\t/);
    expect(Number(k2[2].split('\t')[1])).toBeGreaterThanOrEqual(Number(lines[2].split('\t')[1])); // recall grows with k
  });

  it('predict prints the k most likely labels per line, from a file or stdin', () => {
    const one = run('predict', 'model.bin', 'test.txt');
    expect(one.status, one.stderr).toBe(0);
    const predictions = one.stdout.trim().split('\n');
    expect(predictions).toHaveLength(100);
    expect(predictions[0]).toMatch(/^__label__(sports|politics|science|music)$/);
    const gold = readFileSync(join(dir, 'test.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    expect(predictions.filter((p, i) => p === gold[i]).length).toBeGreaterThan(90);
    const three = spawnSync(process.execPath, [rowshardCli, 'predict', 'model.bin', '-', '3'], {
      input: 'spo1 w3 w9\n',
      encoding: 'utf8',
      cwd: dir,
    });
    expect(three.stdout.trim().split(' ')).toHaveLength(3);
    expect(three.stdout.trim().split(' ')[0]).toBe('__label__sports');
  });

  it('-outputMatrix table keeps the output matrix on the parameter servers and trains the same model as dense', () => {
    const flags = [
      '-dim',
      '16',
      '-epoch',
      '10',
      '-sync',
      'bsp',
      '-batch',
      '16',
      '-wordNgrams',
      '2',
      '-bucket',
      '50000',
      '-saveOutput',
    ];
    // Adagrad on the output matrix either way, and on the input matrix (the default there is
    // row-wise Adagrad, whose placements agree only to the printed digits).
    flags.push('-optimizer', 'adagrad');
    expect(run('supervised', '-input', 'train.txt', '-output', 'model-dense', ...flags, '-verbose', '0').status).toBe(0);
    // -verbose 0, as fastText's: no progress and no file names, only the summary line.
    const r = run(
      'supervised',
      '-input',
      'train.txt',
      '-output',
      'model-table',
      ...flags,
      '-outputMatrix',
      'table',
      '-verbose',
      '0',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim().split('\n')).toEqual([expect.stringMatching(/^done: \d+ steps, /)]);
    const rows = (file: string) =>
      new Map(
        readFileSync(join(dir, file), 'utf8')
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => {
            const [label, ...v] = l.trim().split(' ');
            return [label, v.map(Number)] as const;
          }),
      );
    const dense = rows('model-dense.output');
    const table = rows('model-table.output');
    expect([...table.keys()].sort()).toEqual([...dense.keys()].sort());
    const labels = [...table.keys()];
    // Bitwise: Adagrad on a dense parameter and on sparse rows make the same float32 steps.
    expect(
      maxAbsDiff(
        labels.flatMap((l) => table.get(l) as number[]),
        labels.flatMap((l) => dense.get(l) as number[]),
      ),
    ).toBe(0);
    expect(run('predict', 'model-table.bin', 'test.txt').stdout).toBe(run('predict', 'model-dense.bin', 'test.txt').stdout);
    expect(run('supervised', '-input', 'train.txt', '-output', 'x', '-outputMatrix', 'ps').stderr).toMatch(
      /-outputMatrix: must be one of dense, table, got "ps"/,
    );
  });

  it('refuses what it does not support, and bad input, with exit 2 and a clear line', () => {
    expect(run('supervised', '-input', 'missing.txt', '-output', 'x').stderr).toMatch(/-input missing\.txt: no such file/);
    expect(run('supervised', '-input', 'train.txt', '-output', 'x', '-loss', 'nce').stderr).toMatch(
      /-loss: must be one of softmax, ns, hs, ova, got "nce"/,
    );
    expect(run('supervised', '-input', 'train.txt', '-output', 'x', '-qnorm').stderr).toMatch(
      /-qnorm is not supported: a flag of quantize/,
    );
    expect(run('skipgram', '-input', 'train.txt', '-output', 'x', '-autotune-validation', 'v.txt').stderr).toMatch(
      /skipgram: -autotune-validation is not supported: autotune tunes a classifier/,
    );
    expect(run('skipgram', '-input', 'train.txt', '-output', 'x', '-pretrainedVectors', 'v.vec').stderr).toMatch(
      /skipgram: -pretrainedVectors is not supported: /,
    );
    expect(run('supervised', '-input', 'train.txt', '-output', 'x', '-sync', 'ssp').stderr).toMatch(
      /-sync must be asp or bsp, got ssp/,
    );
    expect(run('supervised', '-input', 'train.txt', '-output', 'x', '-frobnicate', '1').stderr).toMatch(
      /unknown option -frobnicate/,
    );
    writeFileSync(join(dir, 'nolabel.txt'), 'no label here\nnor here\n');
    const bad = run('supervised', '-input', 'nolabel.txt', '-output', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/nolabel\.txt: no line has a label starting with '__label__'/);
    expect(existsSync(join(dir, 'x.bin'))).toBe(false);
    expect(run('test', 'nope.bin', 'test.txt').stderr).toMatch(/nope\.bin: cannot read the model/);
  });

  it('fails with the system error when model.vec cannot be written (it is written on another thread)', () => {
    // A directory where the .vec's temporary file goes: opening it for writing fails with EISDIR.
    mkdirSync(join(dir, 'blocked.vec.tmp'), { recursive: true });
    const r = run('supervised', '-input', 'train.txt', '-output', 'blocked', '-dim', '8', '-epoch', '1', '-bucket', '1000');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/rowshard: EISDIR: .*blocked\.vec\.tmp/);
    expect(existsSync(join(dir, 'blocked.vec'))).toBe(false);
    expect(existsSync(join(dir, 'blocked.bin.draft'))).toBe(false);
  });

  it('skips lines without a label and counts them in the summary, as fastText skips them', () => {
    writeFileSync(join(dir, 'some.txt'), `${corpus(40, 3)}no label on this line\n\n`);
    const r = run(
      'supervised',
      '-input',
      'some.txt',
      '-output',
      'some',
      '-dim',
      '4',
      '-epoch',
      '1',
      '-sync',
      'bsp',
      '-bucket',
      '100',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('some.txt: 2 lines without a label or a known word skipped');
  });
});

describe('rowshard skipgram -optimizer sgd', () => {
  it('sums the per-example updates across workers: 2 workers train what 1 does (BSP), not half of it', () => {
    writeFileSync(join(dir, 'words.txt'), corpus(300, 5).replace(/__label__\S+ /g, ''));
    const vectors = (workers: string) => {
      const out = `sg-${workers}`;
      const flags = ['-dim', '8', '-epoch', '2', '-minCount', '1', '-bucket', '500', '-batch', '32', '-sync', 'bsp'];
      const r = run(
        'skipgram',
        '-input',
        'words.txt',
        '-output',
        out,
        ...flags,
        '-optimizer',
        'sgd',
        '-ps',
        '1',
        '-thread',
        workers,
      );
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(join(dir, `${out}.vec`), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(' ').slice(1).map(Number));
    };
    const one = vectors('1');
    const two = vectors('2');
    expect(two).toHaveLength(one.length);
    // The same sums, added in another order (float32); halved updates would differ by far more.
    expect(maxAbsDiff(one.flat(), two.flat())).toBeLessThan(1e-4);
    expect(maxAbsDiff(one.flat(), new Array(one.flat().length).fill(0))).toBeGreaterThan(0.01);
  });
});
