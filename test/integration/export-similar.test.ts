import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFullTable, readManifest } from '@rowshard/cli';
import { parseNpy, parseSafetensorsHeader, viewTensor } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
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

/** Every tensor of a safetensors file, with the header's metadata. */
function readSafetensors(file: string) {
  const bytes = readFileSync(file);
  const h = parseSafetensorsHeader(bytes, bytes.length, file);
  const tensors = Object.fromEntries(
    h.tensors.map((t) => [
      t.name,
      {
        shape: t.shape,
        dtype: t.dtype,
        data: Float32Array.from(viewTensor(bytes.subarray(h.dataStart + t.begin, h.dataStart + t.end), 'F32') as Float32Array),
      },
    ]),
  );
  return { names: h.tensors.map((t) => t.name), tensors, metadata: h.metadata };
}

/** Slot `k` of every row of a [rows, stateFloats] state, as a [rows, width] array. */
function slot(state: Float32Array, stateFloats: number, k: number, width: number): Float32Array {
  const rows = state.length / stateFloats;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++)
    out.set(state.subarray(r * stateFloats + k * width, r * stateFloats + (k + 1) * width), r * width);
  return out;
}

describe('export --with-state', () => {
  it("SparseAdam: one tensor per slot, named as PyTorch's optimizer state (state.weight.exp_avg, exp_avg_sq, step)", () => {
    const r = run([
      'export',
      'runs/a',
      '--table',
      'embedding',
      '--format',
      'safetensors',
      '--with-state',
      '--out',
      'adam.safetensors',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const step = stepDir(join(dir, 'runs/a'));
    const table = readFullTable(step, readManifest(step), 'embedding');
    const rows = table.spec.numEmbeddings;
    const f = readSafetensors(join(dir, 'adam.safetensors'));
    expect(f.names).toEqual(['weight', 'state.weight.exp_avg', 'state.weight.exp_avg_sq', 'state.weight.step']);
    expect(f.tensors.weight.shape).toEqual([rows, 6]);
    expect(f.tensors.weight.data).toEqual(table.weight);
    expect(f.tensors['state.weight.exp_avg'].shape).toEqual([rows, 6]);
    expect(f.tensors['state.weight.exp_avg'].data).toEqual(slot(table.state!, 12, 0, 6));
    expect(f.tensors['state.weight.exp_avg_sq'].data).toEqual(slot(table.state!, 12, 1, 6));
    expect(f.tensors['state.weight.exp_avg_sq'].data.some((v) => v > 0)).toBe(true);
    expect(f.tensors['state.weight.step']).toMatchObject({ shape: [], dtype: 'F32' });
    expect(Array.from(f.tensors['state.weight.step'].data)).toEqual([12]); // 12 steps, never frozen
    expect(f.metadata.optimizer).toBe('SparseAdam');
    expect(JSON.parse(f.metadata.param_groups)).toEqual([{ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, params: ['weight'] }]);
    // Without --with-state: the table alone.
    expect(run(['export', 'runs/a', '--table', 'embedding', '--format', 'safetensors', '--out', 'w.safetensors']).status).toBe(0);
    expect(readSafetensors(join(dir, 'w.safetensors')).names).toEqual(['weight']);
  });

  it('npy: a file per state tensor beside the table, which numpy loads', () => {
    const r = run(['export', 'runs/a', '--table', 'embedding', '--format', 'npy', '--with-state', '--out', 'adam.npy']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).files).toEqual(['adam.npy', 'adam.exp_avg.npy', 'adam.exp_avg_sq.npy', 'adam.step.npy']);
    const rows = trainedWords(join(dir, 'runs/a')).length;
    const shapes = {
      'adam.npy': [rows, 6],
      'adam.exp_avg.npy': [rows, 6],
      'adam.exp_avg_sq.npy': [rows, 6],
      'adam.step.npy': [],
    };
    for (const [file, shape] of Object.entries(shapes))
      expect(parseNpy(readFileSync(join(dir, file)), file).shape).toEqual(shape);
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.warn('numpy is not installed for /usr/bin/python3 (apt-get install python3-numpy): checking the .npy headers only');
      return;
    }
    const py = `import numpy, json; print(json.dumps({f: list(numpy.load(f).shape) for f in ${JSON.stringify(Object.keys(shapes))}} | {'step': float(numpy.load('adam.step.npy'))}))`;
    const loaded = JSON.parse(spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', cwd: dir }).stdout);
    expect(loaded).toEqual({ ...shapes, step: 12 });
  });

  it("Adagrad: state.weight.sum and state.weight.step (the table's own steps); text formats have no state to write", () => {
    // Frozen for the first 4 of 12 steps: PyTorch's step counts the 8 it trained.
    writeFileSync(join(dir, 'adagrad.yaml'), `${job('adagrad')}freeze: [{ table: embedding, fromStep: 0, untilStep: 4 }]\n`);
    const t = run(['train', '--config', 'adagrad.yaml', '--checkpoint-dir', 'runs/adagrad', '--quiet']);
    expect(t.status, t.stderr).toBe(0);
    const r = run([
      'export',
      'runs/adagrad',
      '--table',
      'embedding',
      '--format',
      'safetensors',
      '--with-state',
      '--out',
      'ada.safetensors',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const step = stepDir(join(dir, 'runs/adagrad'));
    const table = readFullTable(step, readManifest(step), 'embedding');
    const f = readSafetensors(join(dir, 'ada.safetensors'));
    expect(f.names).toEqual(['weight', 'state.weight.sum', 'state.weight.step']);
    expect(f.tensors['state.weight.sum'].data).toEqual(table.state);
    expect(Array.from(f.tensors['state.weight.step'].data)).toEqual([8]);
    expect(f.metadata.optimizer).toBe('Adagrad');
    expect(JSON.parse(f.metadata.param_groups)[0]).toMatchObject({ lr: 0.1, lr_decay: 0, initial_accumulator_value: 0 });
    const text = run(['export', 'runs/adagrad', '--table', 'embedding', '--format', 'glove', '--with-state']);
    expect(text.status).toBe(2);
    expect(text.stderr).toMatch(/--with-state writes the optimizer state as tensors: use --format npy or safetensors/);
  });
});
