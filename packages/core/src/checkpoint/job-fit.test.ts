import { describe, expect, it } from 'vitest';
import type { PsTableConfig } from '../ps-config.js';
import { parseSparseOptimizerConfig } from '../sparse/config.js';
import { tableSpec } from '../table-spec.js';
import { checkCheckpointFitsJob } from './job-fit.js';
import { CHECKPOINT_FORMAT, type CheckpointManifest } from './manifest.js';

const table = (
  name: string,
  dim: number,
  kind: 'sgd' | 'sparse_adam' | 'adagrad' = 'sparse_adam',
  rows = 100,
): PsTableConfig => ({
  spec: tableSpec({ name, numEmbeddings: rows, embeddingDim: dim }),
  optimizer: parseSparseOptimizerConfig({ kind, lr: 0.1 }),
});

/** A manifest as the checkpoint scheduler writes it for `tables`. */
function manifestOf(tables: PsTableConfig[]): CheckpointManifest {
  const stateFloats = { sgd: 0, sparse_adam: 2, adagrad: 1 } as const;
  return {
    format: CHECKPOINT_FORMAT,
    step: 10,
    createdAt: '',
    seed: 0,
    numShards: 1,
    tables: tables.map((t) => ({
      spec: t.spec as unknown as Record<string, unknown>,
      optimizer: t.optimizer as unknown as Record<string, unknown>,
      stateFloats: stateFloats[t.optimizer?.kind as keyof typeof stateFloats] * t.spec.embeddingDim,
    })),
    shards: [],
    dense: { file: 'dense.safetensors', bytes: 0, sha256: '' },
    totalBytes: 0,
    durationMs: 0,
  };
}

describe('checkCheckpointFitsJob', () => {
  const saved = manifestOf([table('users', 8), table('items', 8, 'adagrad')]);

  it('accepts the job that wrote it, whatever its learning rates', () => {
    const job = [
      table('items', 8, 'adagrad'),
      { ...table('users', 8), optimizer: parseSparseOptimizerConfig({ kind: 'sparse_adam', lr: 5 }) },
    ];
    expect(() => checkCheckpointFitsJob(saved, job, '/c/step-00000010')).not.toThrow();
  });

  it.each([
    [
      'another dim',
      [table('users', 16), table('items', 8, 'adagrad')],
      "table 'users' has embeddingDim 8 there and 16 in this job",
    ],
    [
      'another row count',
      [table('users', 8, 'sparse_adam', 50), table('items', 8, 'adagrad')],
      "table 'users' has numEmbeddings 100 there and 50 in this job",
    ],
    [
      'another optimizer',
      [table('users', 8), table('items', 8, 'sgd')],
      "table 'items' has optimizer adagrad there and sgd in this job",
    ],
    [
      'a table it lacks',
      [table('users', 8), table('items', 8, 'adagrad'), table('ads', 8)],
      "it has no table 'ads' (it has 'users', 'items')",
    ],
    ['a table the job lacks', [table('users', 8)], "it has tables this job does not: 'items'"],
  ])('refuses %s with E_BAD_CHECKPOINT naming the table and both values', (_what, job, message) => {
    expect(() => checkCheckpointFitsJob(saved, job, '/c/step-00000010')).toThrow(
      expect.objectContaining({
        code: 'E_BAD_CHECKPOINT',
        message: expect.stringContaining(`/c/step-00000010 was written by a different job: ${message}`),
      }),
    );
  });
});
