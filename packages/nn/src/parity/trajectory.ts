import {
  constantSchedule,
  DEFAULT_DENSE_GROUP,
  DEFAULT_TABLE_GROUP,
  type OptimizerGroup,
  parseOptimizerGroups,
} from '@rowshard/core';
import type { Batch, Model } from '../model.js';
import { builtinModel } from '../models/registry.js';
import type { FixtureReader } from './fixture-values.js';
import { parseOptimizerStatement, statedDropout, statedPaddingIdx } from './optimizer-statement.js';

/**
 * A training-trajectory fixture (text_classifier.json, recommender.json, category_model.json
 * and any file of the same schema): the model is recognised from the state_dict names, its
 * sizes from the tensor shapes, and the optimizers from `what` (or an explicit `optimizers`).
 */
export interface TrajectoryFixture {
  readonly model: Model;
  /** The built-in model and options that reproduce it (what a cluster job names). */
  readonly modelSpec: { readonly name: string; readonly options: Record<string, unknown> };
  readonly initialState: Record<string, Float32Array>;
  readonly finalState: Record<string, { shape: number[]; data: Float32Array }>;
  readonly batches: Batch[];
  readonly losses: number[];
  readonly groups: OptimizerGroup[];
  /** Groups whose learning rate the fixture does not state (to be estimated). */
  readonly unknownLr: string[];
}

const CLASS_TO_KIND: Record<string, string> = {
  SparseAdam: 'sparse_adam',
  Adam: 'adam',
  AdamW: 'adamw',
  Adagrad: 'adagrad',
  RowWiseAdagrad: 'rowwise_adagrad',
  SGD: 'sgd',
};

function shapeOf(r: FixtureReader, state: Record<string, { shape: number[] }>, key: string, rank: number): number[] {
  const t = state[key];
  if (!t) throw r.fail(`initial_state.${key}`, 'missing');
  if (t.shape.length !== rank) throw r.fail(`initial_state.${key}`, `must be ${rank}-D, got [${t.shape.join(', ')}]`);
  return t.shape;
}

function recogniseModel(
  r: FixtureReader,
  state: Record<string, { shape: number[] }>,
  what: string,
): { name: string; options: Record<string, unknown> } {
  const keys = Object.keys(state);
  const has = (...k: string[]) => k.every((x) => keys.includes(x));
  if (has('embedding.weight', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias') && keys.length === 5) {
    const [V, D] = shapeOf(r, state, 'embedding.weight', 2);
    const [H] = shapeOf(r, state, 'fc1.weight', 2);
    const [C] = shapeOf(r, state, 'fc2.weight', 2);
    const dropout = statedDropout(what) ?? 0;
    if (dropout !== 0) {
      throw r.fail(
        'what',
        `dropout ${dropout} cannot be reproduced (its mask comes from PyTorch's generator); parity needs dropout 0`,
      );
    }
    const padding = statedPaddingIdx(what);
    return {
      name: 'text_classifier',
      options: {
        vocabSize: V,
        embeddingDim: D,
        hiddenDim: H,
        numClasses: C,
        paddingIdx: padding === undefined ? 0 : padding,
        dropout: 0,
      },
    };
  }
  if (has('user_embedding.weight', 'item_embedding.weight') && keys.length === 2) {
    const [U, D] = shapeOf(r, state, 'user_embedding.weight', 2);
    const [I, D2] = shapeOf(r, state, 'item_embedding.weight', 2);
    if (D !== D2) throw r.fail('initial_state', `user and item dims differ (${D} vs ${D2})`);
    return { name: 'recommender', options: { numUsers: U, numItems: I, embeddingDim: D } };
  }
  const tables = keys.filter((k) => /^[A-Za-z0-9]+_embedding\.weight$/.test(k));
  if (tables.length > 0 && has('fc.weight', 'fc.bias') && keys.length === tables.length + 2) {
    const features = tables.map((k) => {
      const [n, d] = shapeOf(r, state, k, 2);
      return { name: k.slice(0, -'_embedding.weight'.length), numEmbeddings: n, embeddingDim: d };
    });
    const [out, inF] = shapeOf(r, state, 'fc.weight', 2);
    const total = features.reduce((a, f) => a + f.embeddingDim, 0);
    if (out !== 1 || inF !== total) throw r.fail('initial_state.fc.weight', `must be [1, ${total}], got [${out}, ${inF}]`);
    return { name: 'category_model', options: { features } };
  }
  throw r.fail(
    'initial_state',
    `unknown model: state_dict keys ${keys.join(', ')} match none of text_classifier (embedding, fc1, fc2), recommender (user_embedding, item_embedding), category_model (*_embedding, fc)`,
  );
}

function groupsFromStatement(r: FixtureReader, what: string, model: Model): { groups: OptimizerGroup[]; unknownLr: string[] } {
  const stated = parseOptimizerStatement(what);
  if (stated.length === 0) {
    throw r.fail(
      'what',
      'names no optimizer (expected e.g. "SparseAdam lr=0.05 on the embedding, Adam lr=0.01 on the rest") and there is no `optimizers` field',
    );
  }
  const needed = [
    ...(model.tables.length ? [{ group: DEFAULT_TABLE_GROUP, role: 'tables' as const }] : []),
    ...(model.dense.length ? [{ group: DEFAULT_DENSE_GROUP, role: 'dense' as const }] : []),
  ];
  const groups: OptimizerGroup[] = [];
  const unknownLr: string[] = [];
  for (const { group, role } of needed) {
    const matches = stated.filter((s) => s.target === role || s.target === 'all' || (s.target === null && stated.length === 1));
    if (matches.length !== 1) {
      throw r.fail(
        'what',
        `cannot tell which optimizer trained the ${role} (${matches.length} candidates in ${JSON.stringify(what)})`,
      );
    }
    const s = matches[0];
    const kind = CLASS_TO_KIND[s.className];
    const hp: Record<string, unknown> = { ...s.hyperparameters, kind };
    if (hp.lr === undefined) {
      unknownLr.push(group);
      hp.lr = 0.01;
    }
    groups.push({ name: group, optimizer: hp, schedule: constantSchedule });
  }
  return { groups, unknownLr };
}

export function readTrajectoryFixture(r: FixtureReader, root: Record<string, unknown>): TrajectoryFixture {
  const what = typeof root.what === 'string' ? root.what : '';
  const initialRaw = r.object(r.field(root, 'initial_state', ''), 'initial_state');
  const initialTensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of Object.entries(initialRaw)) initialTensors[k] = r.tensor(v, `initial_state.${k}`);
  const modelSpec = recogniseModel(r, initialTensors, what);
  const model = builtinModel(modelSpec.name, modelSpec.options);
  const finalRaw = r.object(r.field(root, 'final_state', ''), 'final_state');
  const finalState: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const k of Object.keys(initialTensors)) {
    finalState[k] = r.tensor(r.field(finalRaw, k, 'final_state'), `final_state.${k}`);
    if (finalState[k].data.length !== initialTensors[k].data.length)
      throw r.fail(`final_state.${k}`, 'size differs from initial_state');
  }
  const inputsPerBatch = model.name === 'text_classifier' ? 1 : model.tables.length;
  const batches = r.array(r.field(root, 'batches', ''), 'batches').map((raw, i): Batch => {
    const path = `batches[${i}]`;
    const b = r.object(raw, path);
    const x = r.array(r.field(b, 'x', path), `${path}.x`);
    if (x.length !== inputsPerBatch) throw r.fail(`${path}.x`, `${model.name} takes ${inputsPerBatch} input(s), got ${x.length}`);
    const inputs = x.map((v, k) => r.indices(v, `${path}.x[${k}]`));
    const target = r.vector(r.field(b, 'y', path), `${path}.y`);
    const rows = inputs[0].shape[0];
    if (target.length !== rows) throw r.fail(`${path}.y`, `has ${target.length} targets for ${rows} examples`);
    return { inputs, target };
  });
  const losses = r.array(r.field(root, 'losses', ''), 'losses').map((v, i) => r.number(v, `losses[${i}]`));
  if (losses.length !== batches.length) throw r.fail('losses', `has ${losses.length} entries for ${batches.length} batches`);
  let groups: OptimizerGroup[];
  let unknownLr: string[] = [];
  if (root.optimizers !== undefined) {
    try {
      groups = parseOptimizerGroups(root.optimizers, 'optimizers');
    } catch (e) {
      throw r.fail('optimizers', (e as Error).message);
    }
  } else {
    ({ groups, unknownLr } = groupsFromStatement(r, what, model));
  }
  const initialState: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(initialTensors)) initialState[k] = v.data;
  return { model, modelSpec, initialState, finalState, batches, losses, groups, unknownLr };
}
