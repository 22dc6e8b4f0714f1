import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = join(repoRoot, 'packages/cli/dist/main.js');
const dir = mkdtempSync(join(tmpdir(), 'rowshard-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });

/** Two topics of four words each; a word's vector should end nearer its topic's words. */
const topics = { royal: ['king', 'queen', 'prince', 'crown'], fruit: ['apple', 'pear', 'plum', 'cherry'] };

function corpus(): string {
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const lines: string[] = [];
  for (let i = 0; i < 600; i++) {
    const label = i % 2 === 0 ? 'royal' : 'fruit';
    const words = topics[label];
    lines.push(`__label__${label} ${[0, 1, 2].map(() => words[Math.floor(next() * words.length)]).join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

const job = (optimizer: string) => `model: { name: text_classifier, options: { embeddingDim: 6, hiddenDim: 6, dropout: 0 } }
optimizers:
  embeddings: { kind: ${optimizer}, lr: 0.1 }
  dense: { kind: adam, lr: 0.01 }
data: { kind: file, path: train.txt, format: fasttext, features: sequence, seqLen: 4 }
steps: 12
batchSize: 32
sync: bsp
cluster: { ps: 2, trainers: 1, workersPerTrainer: 1 }
`;

const stepDir = (root: string) => {
  const steps = readdirSync(root).filter((d) => d.startsWith('step-'));
  return join(root, steps.sort().at(-1)!);
};

/** The vocabulary training wrote: `word<TAB>count` per line, line i = row i. */
const trainedWords = (root: string) =>
  readFileSync(join(root, 'data', 'vocab.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t')[0]);

beforeAll(() => {
  writeFileSync(join(dir, 'train.txt'), corpus());
  writeFileSync(join(dir, 'job.yaml'), job('sparse_adam'));
  const r = run(['train', '--config', 'job.yaml', '--checkpoint-dir', 'runs/a', '--quiet']);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

describe('the vocabulary of a checkpoint', () => {
  it('similar finds a word, and answers with words', () => {
    const words = trainedWords(join(dir, 'runs/a'));
    expect(readFileSync(join(dir, 'runs/a/data/vocab.txt'), 'utf8')).toMatch(/^<pad>\t0\n<unk>\t0\n/);
    const r = run(['similar', 'runs/a', '--table', 'embedding', 'king', '-k', '3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout);
    expect(answer.row).toBe(words.indexOf('king'));
    expect(answer.neighbours).toHaveLength(3);
    for (const n of answer.neighbours) expect(n.word).toBe(words[n.row]);
    const text = run(['similar', 'runs/a', '--table', 'embedding', 'king', '-k', '2']);
    expect(text.stdout).toMatch(/^ {2}1 {2}\S+ {2}-?\d\.\d{4}\n {2}2 {2}\S+ {2}-?\d\.\d{4}\n$/);
    expect(text.stdout).not.toMatch(/\t/);
  });

  it('export --format word2vec and glove write a word and dim numbers per line', () => {
    const words = trainedWords(join(dir, 'runs/a'));
    for (const format of ['word2vec', 'glove']) {
      const out = `emb.${format}.txt`;
      const r = run(['export', 'runs/a', '--table', 'embedding', '--format', format, '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      const lines = readFileSync(join(dir, out), 'utf8').trimEnd().split('\n');
      if (format === 'word2vec') expect(lines.shift()).toBe(`${words.length} 6`);
      expect(lines).toHaveLength(words.length);
      lines.forEach((line, row) => {
        const fields = line.split(' ');
        expect(fields).toHaveLength(7);
        expect(fields[0]).toBe(words[row]);
        for (const v of fields.slice(1)) expect(Number.isFinite(Number(v))).toBe(true);
      });
    }
  });

  it('the manifest names the vocabulary relative to the checkpoint, so a moved checkpoint still has its words', () => {
    const manifest = JSON.parse(readFileSync(join(stepDir(join(dir, 'runs/a')), 'manifest.json'), 'utf8'));
    expect(manifest.vocab).toEqual({ embedding: 'embedding.vocab.txt' });
    cpSync(join(dir, 'runs/a'), join(dir, 'moved'), { recursive: true });
    // Only the step directory, somewhere else.
    cpSync(stepDir(join(dir, 'runs/a')), join(dir, 'lone'), { recursive: true });
    for (const where of ['moved', 'lone']) {
      const r = run(['similar', where, '--table', 'embedding', 'queen', '-k', '2', '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).row).toBe(trainedWords(join(dir, 'runs/a')).indexOf('queen'));
    }
  });

  it('an older manifest with an absolute vocabulary path reads, moved or not; a missing one is a one-line error', () => {
    const old = join(dir, 'old');
    cpSync(join(dir, 'runs/a'), old, { recursive: true });
    const step = stepDir(old);
    const manifestFile = join(step, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    rmSync(join(step, 'embedding.vocab.txt'));
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, vocab: { embedding: join(old, 'data', 'vocab.txt') } }));
    expect(run(['similar', 'old', '--table', 'embedding', 'plum', '--json']).status).toBe(0);
    renameSync(old, join(dir, 'old-moved'));
    const moved = run(['similar', 'old-moved', '--table', 'embedding', 'plum', '--json']);
    expect(moved.status, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout).row).toBe(trainedWords(join(dir, 'runs/a')).indexOf('plum'));
    rmSync(join(dir, 'old-moved', 'data'), { recursive: true });
    for (const args of [
      ['similar', 'old-moved', '--table', 'embedding', 'plum'],
      ['export', 'old-moved', '--table', 'embedding', '--format', 'glove', '--out', 'x.txt'],
    ]) {
      const r = run(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^rowshard: E_BAD_CHECKPOINT: .*vocabulary of table 'embedding'.*missing; pass --vocab FILE/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    // --vocab takes a plain list as well as training's form.
    writeFileSync(join(dir, 'words.txt'), `${trainedWords(join(dir, 'runs/a')).join('\n')}\n`);
    const given = run(['similar', 'old-moved', '--table', 'embedding', 'plum', '--vocab', 'words.txt', '--json']);
    expect(given.status, given.stderr).toBe(0);
  });
});
