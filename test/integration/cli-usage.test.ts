import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The command line as a new user meets it (issue 13): resume only when asked or unchanged,
 * every option's precedence and every number checked, held-out accuracy on the whole eval
 * set, help for every command, flags alone make a job, one error path, negative numbers.
 */
const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const dir = mkdtempSync(join(tmpdir(), 'rowshard-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: dir, timeout: 120_000 });
const events = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at |Unhandled|node:internal/);

/** Text in fastText's format: two classes, each with its own words among shared ones. */
function corpus(n: number): string {
  return `${Array.from({ length: n }, (_, i) =>
    i % 2 ? `__label__a apple pear w${i % 7} w${i % 3}` : `__label__b stone rock w${i % 5} w${i % 3}`,
  ).join('\n')}\n`;
}

const smallJob = `model: { name: text_classifier, options: { vocabSize: 300, embeddingDim: 4, hiddenDim: 4, numClasses: 2, dropout: 0 } }
optimizers: { embeddings: { kind: sparse_adam, lr: 0.05 }, dense: { kind: adam, lr: 0.01 } }
steps: 10
batchSize: 8
data: { kind: synthetic_text, vocabSize: 300, seqLen: 6, numClasses: 2 }
cluster: { ps: 1, trainers: 1, workersPerTrainer: 1 }
checkpoint: { dir: runs/a, everySteps: 5 }
`;

beforeAll(() => {
  writeFileSync(join(dir, 'train.txt'), corpus(64));
  writeFileSync(join(dir, 'eval.txt'), corpus(300));
  writeFileSync(join(dir, 'job.yaml'), smallJob);
});

/** Each checkpoint's name and manifest mtime: what a refused run must leave as it was. */
function checkpointState(ckpt: string): Record<string, number> {
  return Object.fromEntries(readdirSync(ckpt).map((d) => [d, statSync(join(ckpt, d, 'manifest.json')).mtimeMs]));
}

describe('item 1: resume only when asked or unchanged; a named checkpoint must exist; precedence; numbers', () => {
  const ckpt = () => join(dir, 'runs/a');

  it('a finished job run again unchanged trains nothing, and says so', () => {
    const first = run(['train', '--config', 'job.yaml', '--quiet']);
    expect(first.status, first.stderr).toBe(0);
    expect(Object.keys(checkpointState(ckpt()))).toEqual(['step-00000005', 'step-00000010']);
    const again = run(['train', '--config', 'job.yaml', '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect(events(again.stdout)).toEqual([expect.objectContaining({ event: 'complete', steps: 10 })]);
  });

  it('a changed job over its old checkpoints stops with exit 2, saying what changed and how to resume or start fresh', () => {
    const before = checkpointState(ckpt());
    const r = run(['train', '--config', 'job.yaml', '--lr', '0.001', '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('is not a checkpoint of this job');
    expect(r.stderr).toContain('optimizers.dense.lr: 0.01 → 0.001');
    expect(r.stderr).toContain('--resume latest');
    expect(r.stderr).toContain('--resume none');
    expect(r.stdout).not.toContain('"listening"');
    expect(checkpointState(ckpt())).toEqual(before);
  });

  it('a named checkpoint that does not exist is an error, and nothing is overwritten', () => {
    const before = checkpointState(ckpt());
    const r = run(['train', '--config', 'job.yaml', '--resume', 'step-00000999']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot resume from step-00000999: .*no such checkpoint .*has step-00000005, step-00000010/);
    expect(checkpointState(ckpt())).toEqual(before);
  });

  it('--resume latest continues with new settings; --resume none starts fresh and drops the old line of checkpoints', () => {
    const more = run(['train', '--config', 'job.yaml', '--resume', 'latest', '--lr', '0.001', '--steps', '15', '--json']);
    expect(more.status, more.stderr).toBe(0);
    const e = events(more.stdout);
    expect(e.find((x) => x.event === 'resume')).toMatchObject({ step: 10 });
    expect(e.find((x) => x.event === 'summary')).toMatchObject({ steps: 15, examples: 5 * 8 });
    const fresh = run(['train', '--config', 'job.yaml', '--resume', 'none', '--json']);
    expect(fresh.status, fresh.stderr).toBe(0);
    const f = events(fresh.stdout);
    expect(f.some((x) => x.event === 'resume')).toBe(false);
    expect(f.find((x) => x.event === 'summary')).toMatchObject({ steps: 10, examples: 10 * 8 });
    expect(Object.keys(checkpointState(ckpt()))).toEqual(['step-00000005', 'step-00000010']);
    // The fresh run's own job: run unchanged again, it is complete.
    expect(run(['train', '--config', 'job.yaml', '--resume', 'none', '--quiet']).status).toBe(0);
    expect(run(['train', '--config', 'job.yaml']).stdout).toContain('nothing to train');
  });

  it('--steps beats epochs from the file; epochs that are not a positive number are refused', () => {
    writeFileSync(
      join(dir, 'epochs.yaml'),
      'data: { kind: file, path: train.txt }\nmodel: { name: fasttext, options: { embeddingDim: 4 } }\nbatchSize: 8\nepochs: 3\ncluster: { ps: 1, workersPerTrainer: 1 }\n',
    );
    const r = run(['train', '--config', 'epochs.yaml', '--steps', '4', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(events(r.stdout).find((x) => x.event === 'summary')).toMatchObject({ steps: 4 });
    writeFileSync(join(dir, 'three.yaml'), readFileSync(join(dir, 'epochs.yaml'), 'utf8').replace('epochs: 3', 'epochs: three'));
    const three = run(['train', '--config', 'three.yaml']);
    expect(three.status).toBe(2);
    expect(three.stderr).toMatch(/three\.yaml:4: epochs: must be a positive number, got "three"/);
    const negative = run(['train', '--config', 'epochs.yaml', '--epochs=-2']);
    expect(negative.status).toBe(2);
    expect(negative.stderr).toContain('--epochs: must be a positive number, got "-2"');
  });
});

describe('item 2: held-out accuracy on the whole eval set at the end, a labelled sample during training', () => {
  it('evaluations during training take eval.batches; the last one every line of the eval file', () => {
    writeFileSync(
      join(dir, 'eval-job.yaml'),
      `data: { kind: file, path: train.txt }
model: { name: fasttext, options: { embeddingDim: 4 } }
batchSize: 8
steps: 8
eval: { data: { kind: file, path: eval.txt }, everySteps: 4, batches: 2, batchSize: 50 }
cluster: { ps: 1, workersPerTrainer: 1 }
`,
    );
    const r = run(['train', '--config', 'eval-job.yaml', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const evals = events(r.stdout).filter((e) => e.role === 'coordinator' && e.event === 'eval');
    expect(evals.map((e) => [e.step, e.examples, e.setSize])).toEqual([
      [4, 100, 300],
      [8, 300, 300],
    ]);
    const text = run(['train', '--config', 'eval-job.yaml']);
    expect(text.stdout).toContain('(100 of 300 eval examples)');
    expect(text.stdout).toMatch(/held-out accuracy \d+\.\d% on all 300 eval examples/);
  });
});

describe('item 6: help for every command, --version, did you mean', () => {
  it('`rowshard <command> --help` prints the command`s options, for every command', () => {
    const list = run(['--help']).stdout;
    const names = [...list.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThanOrEqual(12);
    for (const name of names) {
      const r = run([name, '--help']);
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout, name).toMatch(new RegExp(`^usage: rowshard ${name}`));
      expect(r.stdout, name).toContain('--help');
    }
    // The help is the table that parses the flags: every train flag, with its variable.
    const train = run(['train', '--help']).stdout;
    for (const flag of ['--config FILE', '--steps N', '--lr X', '--resume auto|latest|none|step-N', 'ROWSHARD_CHECKPOINT_DIR'])
      expect(train).toContain(flag);
    expect(run(['supervised', '-help']).stdout).toContain('-wordNgrams N');
  });

  it('--version, and a mistyped command or flag gets a suggestion', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'packages/cli/package.json'), 'utf8'));
    const v = run(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout).toBe(`rowshard ${pkg.version}\n`);
    const typo = run(['trian']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("unknown command 'trian' (did you mean 'rowshard train'?)");
    expect(run(['train', '--chekpoint-dir', 'x']).stderr).toContain('(did you mean --checkpoint-dir?)');
  });
});

describe('item 8: flags alone make a whole job', () => {
  it('--data FILE --format fasttext, no config file', () => {
    const r = run(['train', '--data', 'train.txt', '--format', 'fasttext', '--ps', '1', '--workers', '1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    // The documented defaults: 5 epochs of 64 examples at a batch of 64.
    expect(events(r.stdout).find((e) => e.event === 'summary')).toMatchObject({ steps: 5, examples: 5 * 64 });
  });
});

describe('item 9: one error path, a line and an exit code', () => {
  beforeAll(() => {
    const r = run(['supervised', '-input', 'train.txt', '-output', 'model', '-dim', '4', '-epoch', '1', '-thread', '1']);
    expect(r.status, r.stderr).toBe(0);
    writeFileSync(join(dir, 'many.txt'), corpus(20_000));
  });

  it('test with a missing file, a directory, similar on a model file: one line, exit 2', () => {
    for (const args of [
      ['test', 'model.bin', 'missing.txt'],
      ['test', 'model.bin', '.'],
      ['predict', 'model.bin', 'missing.txt'],
      ['similar', 'model.bin', '--table', 'embedding', 'apple'],
    ]) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      noStack(r.stderr);
    }
    expect(run(['test', 'model.bin', 'missing.txt']).stderr).toBe('rowshard: E_BAD_DATA: missing.txt: no such file\n');
  });

  it('predict into a pipe closed early (| head) ends quietly with exit 0', async () => {
    const child = spawn(process.execPath, [cli, 'predict', 'model.bin', 'many.txt'], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    // 'close': stderr read to its end, so that an empty one means nothing was written.
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('a model that fails the same way every time fails the run at once: not retried', () => {
    const model = join(repoRoot, 'test/fixtures/models/shape-bug.mjs');
    writeFileSync(
      join(dir, 'bug.yaml'),
      `model: { path: ${model}, options: { vocabSize: 300 } }
steps: 5
batchSize: 8
data: { kind: synthetic_text, vocabSize: 300, seqLen: 6, numClasses: 2 }
cluster: { ps: 1, trainers: 1, workersPerTrainer: 1 }
`,
    );
    const r = run(['train', '--config', 'bug.yaml', '--json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^rowshard: E_BAD_SHAPE: trainer 0: worker 0: linear: .*\(not retried/m);
    const e = events(r.stdout);
    expect(e.filter((x) => x.event === 'restarting')).toEqual([]);
    expect(e.filter((x) => x.role === 'trainer' && x.event === 'listening')).toHaveLength(1);
  });
});

describe('item 10: negative numbers parse and are checked; nothing written before the job is valid', () => {
  it('train --lr -1 and supervised -lr -1 name the flag and the rule', () => {
    const train = run(['train', '--config', 'job.yaml', '--lr', '-1']);
    expect(train.status).toBe(2);
    expect(train.stderr).toBe('rowshard: E_BAD_CONFIG: --lr: must be a non-negative number, got "-1"\n');
    const ft = run(['supervised', '-input', 'train.txt', '-output', 'x', '-lr', '-1']);
    expect(ft.status).toBe(2);
    expect(ft.stderr).toBe('rowshard: E_BAD_CONFIG: -lr: must be a non-negative number, got "-1"\n');
  });

  it('a config found bad after the vocabulary pass leaves no data/vocab.txt behind', () => {
    writeFileSync(
      join(dir, 'late-bad.yaml'),
      `data: { kind: file, path: train.txt, features: sequence, seqLen: 8 }
model: { name: text_classifier, options: { embeddingDim: 4, hiddenDim: 0 } }
steps: 3
checkpoint: { dir: runs/never }
`,
    );
    const r = run(['train', '--config', 'late-bad.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/late-bad\.yaml:2: model\.options\.hiddenDim: must be a positive integer, got 0/);
    expect(existsSync(join(dir, 'runs/never'))).toBe(false);
  });
});
