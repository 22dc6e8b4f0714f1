import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobDefaults } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FILE_EPOCHS, loadTrainConfig } from './load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'rowshard-load-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 40 examples of two classes in fastText's format. */
const train = join(dir, 'train.txt');
writeFileSync(
  train,
  Array.from({ length: 40 }, (_, i) => (i % 2 ? `__label__a foo bar w${i % 5}` : `__label__b baz qux w${i % 3}`)).join('\n'),
);
const reviews = join(dir, 'reviews.csv');
writeFileSync(
  reviews,
  `review,stars\n${Array.from({ length: 30 }, (_, i) => `"good film ${i % 4}",${(i % 3) + 3}`).join('\n')}\n`,
);

let n = 0;
function configFile(text: string): string {
  const file = join(dir, `job-${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

const fileJob = (extra: string) =>
  configFile(`model: { name: fasttext, options: { embeddingDim: 4 } }
data: { kind: file, path: train.txt }
batchSize: 8
${extra}
`);

const load = (flags: Record<string, unknown>, env: Record<string, string> = {}) => loadTrainConfig(flags, env);

describe('loadTrainConfig: precedence (flag, environment, file, default)', () => {
  it('steps and epochs: the stronger source wins, whichever it is', async () => {
    // The file's epochs lose to --steps: 20 steps, not 2 passes over 40 examples (10).
    expect((await load({ config: fileJob('epochs: 2'), steps: 20 })).job.steps).toBe(20);
    // The file's steps lose to --epochs: 3 passes of 40 examples at 8 per step.
    expect((await load({ config: fileJob('steps: 7'), epochs: 3 })).job.steps).toBe(15);
    // The environment beats the file, a flag beats the environment.
    expect((await load({ config: fileJob('steps: 7') }, { ROWSHARD_EPOCHS: '1' })).job.steps).toBe(5);
    expect((await load({ config: fileJob('epochs: 2'), steps: 3 }, { ROWSHARD_EPOCHS: '1' })).job.steps).toBe(3);
    expect((await load({ config: fileJob('steps: 7'), steps: 9 }, { ROWSHARD_STEPS: '8' })).job.steps).toBe(9);
    await expect(load({ config: fileJob('steps: 7\nepochs: 2') })).rejects.toThrow(
      /job-\d+\.yaml:\d+: epochs: give steps or epochs, not both/,
    );
  });

  it('every number is checked, from the file and from flags', async () => {
    await expect(load({ config: fileJob('epochs: three') })).rejects.toThrow(
      /job-\d+\.yaml:4: epochs: must be a positive number, got "three"/,
    );
    await expect(load({ config: fileJob('epochs: -2') })).rejects.toThrow(/epochs: must be a positive number, got -2/);
    await expect(load({ config: fileJob(''), epochs: '-2' })).rejects.toThrow('--epochs: must be a positive number, got "-2"');
    await expect(load({ config: fileJob(''), ps: '0' })).rejects.toThrow('--ps: must be a positive integer, got "0"');
    await expect(load({ config: fileJob('steps: 3') }, { ROWSHARD_LR: '-1' })).rejects.toThrow(
      'ROWSHARD_LR: must be a non-negative number, got "-1"',
    );
  });

  it('--lr sets every optimizer group, the default groups when the job names none', async () => {
    const { job } = await load({ config: fileJob('steps: 3'), lr: 0.2 });
    expect(job.optimizers).toEqual({ embeddings: { kind: 'sparse_adam', lr: 0.2 }, dense: { kind: 'adam', lr: 0.2 } });
  });
});

describe('loadTrainConfig: flags alone make a whole job', () => {
  it('--data and --format, and nothing else: fastText model, default optimizers, batch size and epochs', async () => {
    const { job } = await load({ data: train, format: 'fasttext' });
    expect(job.model).toEqual({ name: 'fasttext', options: { numWords: expect.any(Number), numClasses: 2, buckets: 0 } });
    expect(job.batchSize).toBeUndefined(); // the parser's default
    expect(job.steps).toBe(Math.ceil((DEFAULT_FILE_EPOCHS * 40) / jobDefaults.batchSize));
    expect(job.data).toMatchObject({ kind: 'file', path: train, format: 'fasttext', examples: 40 });
  });

  it("the README's CSV snippet alone is a job: optimizers and batch size default", async () => {
    const { job } = await load({
      config:
        configFile(`model: { name: text_classifier, options: { embeddingDim: 64, hiddenDim: 64 } }   # vocabSize, numClasses: from the data
data: { kind: file, path: reviews.csv, format: csv, columns: { text: review, label: stars }, features: sequence, seqLen: 64, minCount: 2 }
epochs: 3
`),
    });
    expect(job.steps).toBe(Math.ceil((3 * 30) / jobDefaults.batchSize));
    expect((job.model as { options: Record<string, unknown> }).options).toMatchObject({ numClasses: 3 });
  });
});

describe('loadTrainConfig writes nothing', () => {
  it('not the vocabulary of a job that fails validation, and not even of a good one until writeFiles()', async () => {
    const bad = join(dir, 'ckpt-bad');
    await expect(
      load({ config: fileJob(`steps: 3\noptimizers: { embeddings: { kind: sgd, lr: -1 } }\ncheckpoint: { dir: ${bad} }`) }),
    ).rejects.toThrow(/optimizers\.embeddings\.lr: must be in \[0/);
    expect(existsSync(bad)).toBe(false);
    const good = join(dir, 'ckpt-good');
    const loaded = await load({ config: fileJob(`steps: 3\ncheckpoint: { dir: ${good} }`) });
    expect(existsSync(good)).toBe(false);
    loaded.writeFiles();
    expect(existsSync(join(good, 'data', 'vocab.txt'))).toBe(true);
    expect(existsSync(join(good, 'data', 'labels.txt'))).toBe(true);
  });
});

describe("loadTrainConfig: fastText's features", () => {
  it('tokenises the examples once, for the workers: the job names the file, writeFiles() writes it', async () => {
    const ckpt = join(dir, 'ckpt-ft');
    const loaded = await load({
      config: configFile(`data: { kind: file, path: train.txt, features: fasttext }\nsteps: 3\ncheckpoint: { dir: ${ckpt} }\n`),
    });
    const file = (loaded.job.data as { examplesFile: string }).examplesFile;
    expect(file).toBe(join(ckpt, 'data', 'examples.i32'));
    loaded.writeFiles();
    const ints = new Int32Array(Uint8Array.from(readFileSync(file)).buffer);
    expect(ints[2]).toBe(40); // the example count, after the magic and the version
  });
});

describe('loadTrainConfig: checkpoint flags', () => {
  it('--resume without a checkpoint directory says what is missing', async () => {
    await expect(load({ config: fileJob('steps: 3'), resume: 'latest' })).rejects.toThrow(
      '--resume: checkpoint.resume: needs a checkpoint directory: give --checkpoint-dir DIR (or checkpoint.dir in the job)',
    );
  });
});

describe('loadTrainConfig: the cluster picked for the machine', () => {
  it("turns ASP's prefetch on where shards and workers fit the CPUs, and says so on the cluster line", async () => {
    const asp = fileJob('sync: asp');
    const fits = await loadTrainConfig({ config: asp, ps: 1, workers: 1 }, {}, undefined, undefined, 2);
    expect(fits.job.sync).toEqual({ mode: 'asp', prefetch: true });
    const picked = await loadTrainConfig({ config: asp }, {}, undefined, undefined, { cpus: 2, minWorkers: 1 });
    expect(picked.clusterChoice).toMatch(/^cluster: 1 PS × 1 worker threads, .*; ASP workers pull a step ahead/);
    // 1 PS × 2 workers on 2 CPUs: one process more than the cores.
    const crowded = await loadTrainConfig({ config: asp }, {}, undefined, undefined, 2);
    expect(crowded.job.sync).toBe('asp');
    expect(crowded.clusterChoice).not.toMatch(/prefetch/);
    // Without a machine to size for, the job's own setting (off) stands.
    expect((await load({ config: asp, ps: 1, workers: 1 })).job.sync).toBe('asp');
  });
});
