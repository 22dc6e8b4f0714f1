import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '@rowshard/testkit';

/**
 * rowshard supervised against the same fastText-style model in PyTorch on a real corpus:
 * Debian's fortune files, 32 categories (bench/corpus/make_fortunes.py; needs
 * `apt-get install fortunes fortunes-min python3-torch`). Same split, same tokenization,
 * accuracy (P@1) on the held-out 20% and wall time, each setting in the same run.
 *
 *   pnpm bench:fasttext [--json] [--corpus /tmp/fortunes]
 */
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    corpus: { type: 'string', default: join(tmpdir(), 'rowshard-fortunes') },
  },
  strict: true,
});
const corpus = String(values.corpus);
const cli = join(repoRoot, 'packages/cli/dist/main.js');
const log = (s: string) => {
  if (!values.json) process.stdout.write(`${s}\n`);
};

function timed<T>(fn: () => T): { value: T; seconds: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

function rowshard(name: string, args: string[]) {
  const out = mkdtempSync(join(tmpdir(), 'rowshard-ftbench-'));
  try {
    const { seconds } = timed(() =>
      execFileSync(
        process.execPath,
        [cli, 'supervised', '-input', join(corpus, 'train.txt'), '-output', join(out, 'model'), ...args],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      ),
    );
    const test = execFileSync(process.execPath, [cli, 'test', join(out, 'model.bin'), join(corpus, 'test.txt')], {
      encoding: 'utf8',
    });
    const p1 = Number(/P@1\t([\d.]+)/.exec(test)?.[1]);
    return { name, system: 'rowshard', args: args.join(' '), p1, seconds };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function torch(name: string, args: string[]) {
  const { value, seconds } = timed(() =>
    execFileSync(
      '/usr/bin/python3',
      [
        join(repoRoot, 'bench/fasttext_torch.py'),
        '--train',
        join(corpus, 'train.txt'),
        '--test',
        join(corpus, 'test.txt'),
        ...args,
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ),
  );
  const line = value.trim().split('\n').at(-1) ?? '{}';
  const parsed = JSON.parse(line) as { accuracy?: number; p_at_1?: number };
  return { name, system: 'pytorch', args: args.join(' '), p1: parsed.accuracy ?? parsed.p_at_1 ?? Number.NaN, seconds };
}

function main(): void {
  if (!existsSync(join(corpus, 'train.txt'))) {
    execFileSync('/usr/bin/python3', [join(repoRoot, 'bench/corpus/make_fortunes.py'), corpus], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const runs = [
    torch("fastText's defaults", ['--optimizer', 'sgd', '--lr', '0.1', '--epoch', '5', '--wordNgrams', '1', '--batch', '1']),
    rowshard("rowshard's defaults", []),
    rowshard("rowshard's defaults, bigrams", ['-wordNgrams', '2']),
    torch('Adam, batch 32, 10 epochs, bigrams', [
      '--optimizer',
      'sparse_adam_adam',
      '--lr',
      '0.01',
      '--batch',
      '32',
      '--epoch',
      '10',
      '--wordNgrams',
      '2',
    ]),
    rowshard('Adam, batch 32, 10 epochs, bigrams', [
      '-optimizer',
      'adam',
      '-lr',
      '0.01',
      '-batch',
      '32',
      '-epoch',
      '10',
      '-wordNgrams',
      '2',
    ]),
  ];
  log(`fortunes corpus (${corpus}): P@1 on the held-out split`);
  for (const r of runs) log(`${r.system.padEnd(9)} ${r.name.padEnd(38)} P@1 ${r.p1.toFixed(3)}  ${r.seconds.toFixed(1)} s`);
  if (values.json) process.stdout.write(`${JSON.stringify({ corpus, runs })}\n`);
}

main();
