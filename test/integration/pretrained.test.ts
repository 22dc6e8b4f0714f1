import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFullTable, readManifest, resolveCheckpointDir } from '@rowshard/cli';
import { npyHeader, rowInitializer, tableSpec } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const dir = mkdtempSync(join(tmpdir(), 'rowshard-pretrained-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });

/** A 9-row table; the files hold 7 rows of multiples of 1/8 (exact in every float width). */
/** `pretrained`: the fields of the table's `pretrained` mapping, e.g. `path: emb.npy`. */
const job = (pretrained: string) => `seed: 4
model: { name: text_classifier, options: { vocabSize: 9, embeddingDim: 5, hiddenDim: 4, numClasses: 2, dropout: 0 } }
optimizers:
  embeddings: { kind: sparse_adam, lr: 0.1 }
  dense: { kind: adam, lr: 0.01 }
steps: 4
batchSize: 16
data: { kind: synthetic_text, vocabSize: 9, seqLen: 4, numClasses: 2 }
cluster: { ps: 2, trainers: 1, workersPerTrainer: 1 }
tables:
  embedding:
    pretrained: { ${pretrained} }
`;
const expected = Float32Array.from({ length: 35 }, (_, i) => (i - 17) / 8);
const numpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

/** The table as the run's last checkpoint holds it: frozen, so exactly what was loaded. */
function trainedTable(checkpoints: string): Float32Array {
  const step = resolveCheckpointDir(checkpoints);
  return readFullTable(step, readManifest(step), 'embedding').weight;
}

function expectLoaded(rows: Float32Array): void {
  expect(rows.subarray(0, 35)).toEqual(expected);
  const spec = tableSpec({ name: 'embedding', numEmbeddings: 9, embeddingDim: 5 });
  const init = new Float32Array(10);
  rowInitializer(spec, 4).fill(7, 0, init, 0);
  rowInitializer(spec, 4).fill(8, 0, init, 5);
  expect(rows.subarray(35)).toEqual(init);
}

describe('rowshard train with a pretrained table', () => {
  it.skipIf(!numpy)('loads an .npy numpy wrote (Fortran order, big-endian float64) from a path relative to the job file', () => {
    mkdirSync(join(dir, 'jobs/vectors'), { recursive: true });
    execFileSync('/usr/bin/python3', [
      '-c',
      'import sys, numpy as np; a = ((np.arange(35).reshape(7, 5) - 17) / 8).astype(">f8"); np.save(sys.argv[1], np.asfortranarray(a))',
      join(dir, 'jobs/vectors/emb.npy'),
    ]);
    expect(readFileSync(join(dir, 'jobs/vectors/emb.npy')).toString('latin1', 10, 80)).toContain("'fortran_order': True");
    writeFileSync(join(dir, 'jobs/job.yaml'), job('path: vectors/emb.npy'));
    // Run from another directory: the path is the job file's, not the working directory's.
    const r = run(['train', '--config', 'jobs/job.yaml', '--checkpoint-dir', 'runs/npy', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expectLoaded(trainedTable(join(dir, 'runs/npy')));
  });

  it("loads rowshard's own .npy by an absolute path", () => {
    const file = join(dir, 'own.npy');
    writeFileSync(file, Buffer.concat([npyHeader([7, 5]), Buffer.from(expected.buffer)]));
    writeFileSync(join(dir, 'own.yaml'), job(`path: ${file}`));
    const r = run(['train', '--config', 'own.yaml', '--checkpoint-dir', 'runs/own', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expectLoaded(trainedTable(join(dir, 'runs/own')));
  });

  it('a file that does not fit stops the job with exit 2 and one line, before any process starts', () => {
    writeFileSync(join(dir, 'wide.npy'), Buffer.concat([npyHeader([7, 6]), Buffer.alloc(7 * 6 * 4)]));
    writeFileSync(join(dir, 'cut.npy'), Buffer.concat([npyHeader([7, 5]), Buffer.alloc(7 * 5 * 4 - 1)]));
    writeFileSync(join(dir, 'dim.txt'), 'a 1 2 3\n');
    for (const [path, message] of [
      ['path: wide.npy', /wide\.npy: its array is \[7, 6\]; table 'embedding' is \[9, 5\]/],
      ['path: cut.npy', /cut\.npy: not a readable \.npy file: .*\(truncated\)/],
      ['path: missing.npy', /missing\.npy: cannot be read \(ENOENT\)/],
      ['path: dim.txt, format: glove', /dim\.txt: line 1: vectors have dim 3; the table has 5/],
    ] as const) {
      writeFileSync(join(dir, 'bad.yaml'), job(path));
      const r = run(['train', '--config', 'bad.yaml', '--json']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^rowshard: E_BAD_DATA: bad\.yaml:12: tables\.embedding\.pretrained\.path: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).not.toMatch(/"listening"/); // no process was started
    }
  });
});
