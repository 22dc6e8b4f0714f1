import { constantSchedule, type OptimizerGroup, parseOptimizerGroups } from '@rowshard/core';
import { loadFixture, maxAbsDiff } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { fastTextClassifier } from '../models/fasttext.js';
import { recommender } from '../models/recommender.js';
import { textClassifier } from '../models/text-classifier.js';
import { FixtureReader } from '../parity/fixture-values.js';
import { resolveGroups, trainLocally } from '../parity/run-trajectory.js';
import { readTrajectoryFixture } from '../parity/trajectory.js';
import { indexTensor } from '../tensor.js';
import { LocalTrainer } from './local-trainer.js';

describe('the seed models reproduce PyTorch trajectories in one process', () => {
  const sets = [
    ['pytorch', 'text_classifier.json'],
    ['pytorch', 'recommender.json'],
    ['pytorch', 'category_model.json'],
    ['pytorch-alt', 'textclf.json'],
    ['pytorch-alt', 'rec.json'],
    ['pytorch-alt', 'cat.json'],
  ] as const;
  it.each(sets)('%s/%s: every loss and the final state within 1e-4', (set, file) => {
    const fx = readTrajectoryFixture(new FixtureReader(file), loadFixture(file, set));
    const { groups } = resolveGroups(fx);
    const run = trainLocally(fx, groups);
    expect(maxAbsDiff(run.losses, fx.losses)).toBeLessThan(1e-4);
    for (const [name, want] of Object.entries(fx.finalState)) expect(maxAbsDiff(run.state[name], want.data)).toBeLessThan(1e-4);
  });
});

describe('parameter groups', () => {
  const model = recommender({ numUsers: 10, numItems: 10, embeddingDim: 3 });
  const batch = { inputs: [indexTensor([2], [1, 2]), indexTensor([2], [3, 4])], target: [1, 2] };

  it('each group trains at its own learning rate', () => {
    const userGroup = model.tables[0];
    const split = { ...model, tables: [{ ...userGroup, group: 'users' }, model.tables[1]] };
    const groups = parseOptimizerGroups({ users: { kind: 'sgd', lr: 0 }, embeddings: { kind: 'sgd', lr: 0.5 } });
    const trainer = new LocalTrainer({ model: split, groups, seed: 3 });
    const before = trainer.stateDict();
    const users = Float32Array.from(before['user_embedding.weight'].data);
    const items = Float32Array.from(before['item_embedding.weight'].data);
    trainer.trainStep(batch);
    const after = trainer.stateDict();
    expect(after['user_embedding.weight'].data).toEqual(users);
    expect(maxAbsDiff(after['item_embedding.weight'].data, items)).toBeGreaterThan(0);
  });

  it('refuses Adam on a table, as torch.optim.Adam refuses sparse gradients', () => {
    const groups = parseOptimizerGroups({ embeddings: { kind: 'adam', lr: 0.1 } });
    expect(() => new LocalTrainer({ model, groups })).toThrow(
      /optimizers\.embeddings\.kind: adam cannot update embedding tables.*sparse_adam/,
    );
  });

  it('names an undefined group', () => {
    expect(() => new LocalTrainer({ model, groups: [] })).toThrow(
      /optimizers\.embeddings: is used by table 'user_embedding' but not defined/,
    );
  });
});

describe('fastText-style classifier', () => {
  it('learns a planted rule from words and hashed bigrams', () => {
    const numWords = 50;
    const buckets = 200;
    const model = fastTextClassifier({ numWords, buckets, embeddingDim: 8, numClasses: 3 });
    const groups: OptimizerGroup[] = [
      { name: 'embeddings', optimizer: { kind: 'sparse_adam', lr: 0.05 }, schedule: constantSchedule },
      { name: 'dense', optimizer: { kind: 'adam', lr: 0.05 }, schedule: constantSchedule },
    ];
    const trainer = new LocalTrainer({ model, groups, seed: 1 });
    let state = 7;
    const next = (n: number) => {
      state = (state * 48271) % 2147483647;
      return state % n;
    };
    const makeBatch = () => {
      const ids: number[] = [];
      const offsets: number[] = [];
      const target: number[] = [];
      for (let b = 0; b < 16; b++) {
        offsets.push(ids.length);
        const label = next(3);
        const words = [label * 10 + next(10), 30 + next(20), 30 + next(20)];
        ids.push(...words);
        for (let i = 0; i + 1 < words.length; i++) ids.push(numWords + ((words[i] * 31 + words[i + 1]) % buckets));
        target.push(label);
      }
      return { inputs: [indexTensor([ids.length], ids)], offsets: [offsets], target };
    };
    const first = trainer.trainStep(makeBatch());
    let last = first;
    for (let i = 0; i < 150; i++) last = trainer.trainStep(makeBatch());
    expect(first).toBeCloseTo(Math.log(3), 5); // output matrix starts at zero, as in fastText
    expect(last).toBeLessThan(0.3);
  });
});

describe('text classifier', () => {
  it('dropout is reproducible run to run and off in predict()', () => {
    const make = () =>
      new LocalTrainer({
        model: textClassifier({ vocabSize: 30, embeddingDim: 4, hiddenDim: 5, numClasses: 2, dropout: 0.5 }),
        groups: parseOptimizerGroups({ embeddings: { kind: 'sparse_adam', lr: 0.01 }, dense: { kind: 'adam', lr: 0.01 } }),
        seed: 5,
      });
    const batch = { inputs: [indexTensor([2, 3], [1, 2, 0, 3, 4, 5])], target: [0, 1] };
    const a = make();
    const b = make();
    expect(a.trainStep(batch)).toBe(b.trainStep(batch));
    expect(a.predict(batch).data).toEqual(a.predict(batch).data);
  });
});
