import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const dir = mkdtempSync(join(tmpdir(), 'rowshard-ctr-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });

/** A small Criteo file (2 integer and 3 hex columns): clicks follow the first id's parity. */
function criteo(name: string, n: number, broken: number | null = null): string {
  let text = '';
  for (let i = 0; i < n; i++) {
    const id = (i * 7919) % 50;
    const label = id % 2;
    const ints = broken === i + 1 ? ['x', '3'] : [String(i % 10), ''];
    text += `${[label, ...ints, (0x9e3779b97f4a7c15n * BigInt(id + 1)).toString(16).slice(-16), 'abc', ''].join('\t')}\n`;
  }
  writeFileSync(join(dir, name), text);
  return name;
}

const job = (train: string, test: string) => `seed: 1
model: { name: ctr, options: { numDense: 2, numCategorical: 3, embeddingDim: 4, hiddenDim: 8 } }
optimizers: { embeddings: { kind: adagrad, lr: 0.1 }, dense: { kind: adam, lr: 0.01 } }
steps: 60
batchSize: 32
data: { kind: ctr_file, path: ${train}, numDense: 2, numCategorical: 3 }
eval: { data: { kind: ctr_file, path: ${test}, numDense: 2, numCategorical: 3 }, batches: 2, batchSize: 64 }
tables:
  cat_0: { admission: { kind: count, minCount: 2 }, eviction: { ttlSteps: 30 } }
cluster: { ps: 2, trainers: 1, workersPerTrainer: 2 }
`;

describe('rowshard train on a Criteo file', () => {
  it('trains the ctr model to the end and reports held-out AUC', () => {
    writeFileSync(join(dir, 'job.yaml'), job(criteo('train.tsv', 640), criteo('test.tsv', 128)));
    const r = run(['train', '--config', 'job.yaml', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const evals = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'eval');
    expect(evals.at(-1).auc).toBeGreaterThan(0.9);
  });

  it('a missing file stops the run before any process starts, naming the field', () => {
    writeFileSync(join(dir, 'missing.yaml'), job('nope.tsv', 'test.tsv'));
    const r = run(['train', '--config', 'missing.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/data\.path: no such file .*nope\.tsv/);
  });

  it('a bad line fails the run naming file, line and column', () => {
    writeFileSync(join(dir, 'bad.yaml'), job(criteo('bad.tsv', 64, 17), 'test.tsv'));
    const r = run(['train', '--config', 'bad.yaml']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bad\.tsv:17: I1 \(column 2\): expected an integer or nothing, got "x"/);
  });
});
