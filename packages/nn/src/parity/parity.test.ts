import { readdirSync, readFileSync } from 'node:fs';
import { fixtureDir, loadFixture } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { runFixture } from './index.js';
import { parseOptimizerStatement } from './optimizer-statement.js';

describe('parity runner', () => {
  for (const set of ['pytorch', 'pytorch-alt'] as const) {
    const dir = fixtureDir(set);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      it.each(['wasm', 'js'] as const)(`${set}/${file}: every case passes with the %s kernels`, (kernels) => {
        const results = runFixture(file, JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')), kernels);
        expect(results.length).toBeGreaterThan(0);
        for (const r of results) expect(r, r.name).toMatchObject({ pass: true });
      });
    }
  }

  it('fails a case whose numbers are wrong', () => {
    const fx = loadFixture<{ cases: { output: { data: number[] } }[] }>('forward_lookup.json');
    fx.cases[1].output.data[3] += 0.01;
    const results = runFixture('tampered.json', fx);
    expect(results.map((r) => r.pass)).toEqual([true, false, true, true, true]);
    expect(results[1].maxAbsError).toBeCloseTo(0.01, 6);
  });

  it.each([
    [{ what: 'x', nothing: [] }, 'unknown fixture kind'],
    [{ cases: [{ kwargs: {}, indices: [[0]], output: { shape: [1, 1, 1], data: [0] } }] }, 'cases[0].weight: missing field'],
    [
      { cases: [{ kwargs: {}, weight: { shape: [2, 2], data: [1, 2, 3] }, indices: [[0]], output: {} }] },
      'cases[0].weight.data: shape [2, 2] needs 4 values, got 3',
    ],
    [
      { cases: [{ kwargs: { sparse: true, foo: 1 }, weight: { shape: [1, 1], data: [1] }, indices: [[0]] }] },
      'cases[0].kwargs.foo: unsupported',
    ],
    [{ initial_state: { 'mystery.weight': { shape: [1], data: [0] } }, batches: [] }, 'unknown model'],
    [[1, 2], '(top level): expected an object'],
  ])('reports a malformed fixture with file and field: %j', (json, message) => {
    expect(() => runFixture('bad.json', json)).toThrow(message);
    expect(() => runFixture('bad.json', json)).toThrow(/^bad\.json: /);
  });
});

describe('optimizer statements', () => {
  it('reads groups, targets and hyperparameters', () => {
    expect(
      parseOptimizerStatement('x; SparseAdam lr=0.05 on the embedding, Adam lr=0.01 betas=(0.8, 0.9) on the rest; CE'),
    ).toEqual([
      { className: 'SparseAdam', hyperparameters: { lr: 0.05 }, target: 'tables' },
      { className: 'Adam', hyperparameters: { lr: 0.01, betas: [0.8, 0.9] }, target: 'dense' },
    ]);
    expect(parseOptimizerStatement('MSELoss; SGD on both sparse tables')).toEqual([
      { className: 'SGD', hyperparameters: {}, target: 'tables' },
    ]);
  });
});
