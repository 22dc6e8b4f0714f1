import { type TableSpec, tableSpec } from '@rowshard/core';
import { LocalTable } from '../local-table.js';
import { embeddingLookup } from '../ops/embedding.js';
import { type BagMode, embeddingBag } from '../ops/embedding-bag.js';
import { Tensor } from '../tensor.js';
import { type CaseResult, caseResult, compareArrays, mergeComparisons, SINGLE_OP_TOLERANCE } from './compare.js';
import type { FixtureReader } from './fixture-values.js';

/** nn.Embedding keyword arguments that map onto a table spec (sparse only picks the grad layout). */
const kwargToSpec: Record<string, string> = {
  padding_idx: 'paddingIdx',
  max_norm: 'maxNorm',
  norm_type: 'normType',
  scale_grad_by_freq: 'scaleGradByFreq',
};

function specFromKwargs(r: FixtureReader, kwargs: unknown, shape: number[], path: string): TableSpec {
  const obj = kwargs === undefined || kwargs === null ? {} : r.object(kwargs, path);
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'sparse' || k === 'mode' || k === 'include_last_offset') continue;
    const name = kwargToSpec[k];
    if (!name)
      throw r.fail(
        `${path}.${k}`,
        `unsupported nn.Embedding argument (supported: ${Object.keys(kwargToSpec).join(', ')}, sparse)`,
      );
    fields[name] = v;
  }
  if (shape.length !== 2) throw r.fail(path, `weight must be 2-D, got [${shape.join(', ')}]`);
  try {
    return tableSpec({ name: 'fixture', numEmbeddings: shape[0], embeddingDim: shape[1], ...fields });
  } catch (e) {
    throw r.fail(path, (e as Error).message);
  }
}

function kwargsLabel(kwargs: unknown): string {
  if (!kwargs || typeof kwargs !== 'object') return '';
  const parts = Object.entries(kwargs as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length ? ` ${parts.join(' ')}` : ' defaults';
}

/** forward_lookup.json: `cases[]` with weight, indices, output and weight_after. */
export function runForwardLookup(r: FixtureReader, root: Record<string, unknown>): CaseResult[] {
  const cases = r.array(r.field(root, 'cases', ''), 'cases');
  return cases.map((raw, i) => {
    const path = `cases[${i}]`;
    const c = r.object(raw, path);
    const weight = r.tensor(r.field(c, 'weight', path), `${path}.weight`);
    const spec = specFromKwargs(r, c.kwargs, weight.shape, `${path}.kwargs`);
    const indices = r.indices(r.field(c, 'indices', path), `${path}.indices`);
    const expected = r.tensor(r.field(c, 'output', path), `${path}.output`);
    const table = new LocalTable(spec, Float32Array.from(weight.data));
    const out = embeddingLookup(table, indices);
    const parts = [compareArrays(out.data, expected.data, SINGLE_OP_TOLERANCE)];
    if ('weight_after' in c) {
      const after = r.tensor(c.weight_after, `${path}.weight_after`);
      parts.push(compareArrays(table.weights, after.data, SINGLE_OP_TOLERANCE));
    }
    return caseResult(`${r.file} ${path}${kwargsLabel(c.kwargs)}`, mergeComparisons(parts), SINGLE_OP_TOLERANCE);
  });
}

/** Adds a sparse gradient into a dense [V, D] array, as PyTorch's to_dense() would. */
function densify(table: LocalTable): Float32Array {
  const dim = table.spec.embeddingDim;
  const dense = new Float32Array(table.weights.length);
  const grad = table.takeGrad();
  if (!grad) return dense;
  for (let i = 0; i < grad.ids.length; i++) {
    const at = grad.ids[i] * dim;
    for (let d = 0; d < dim; d++) dense[at + d] += grad.rows[i * dim + d];
  }
  return dense;
}

/** Runs out's backward with d(loss)/d(out) = upstream, i.e. loss = sum(out * upstream). */
function backwardFrom(out: Tensor, upstream: Float32Array): void {
  out.accumulateGrad(upstream);
  out.backwardFn?.();
}

/** gradients.json: `embedding[]` and `embedding_bag[]` gradient cases. */
export function runGradients(r: FixtureReader, root: Record<string, unknown>): CaseResult[] {
  if (!('embedding' in root) && !('embedding_bag' in root)) throw r.fail('', 'expected embedding[] and/or embedding_bag[]');
  const results: CaseResult[] = [];
  const plain = 'embedding' in root ? r.array(root.embedding, 'embedding') : [];
  plain.forEach((raw, i) => {
    const path = `embedding[${i}]`;
    const c = r.object(raw, path);
    const weight = r.tensor(r.field(c, 'weight', path), `${path}.weight`);
    const spec = specFromKwargs(r, c.kwargs, weight.shape, `${path}.kwargs`);
    const indices = r.indices(r.field(c, 'indices', path), `${path}.indices`);
    const upstream = r.tensor(r.field(c, 'upstream_grad', path), `${path}.upstream_grad`);
    const expected = r.tensor(r.field(c, 'weight_grad_dense', path), `${path}.weight_grad_dense`);
    const table = new LocalTable(spec, Float32Array.from(weight.data));
    const out = embeddingLookup(table, indices);
    if (out.size !== upstream.data.length)
      throw r.fail(`${path}.upstream_grad`, `has ${upstream.data.length} values, output has ${out.size}`);
    backwardFrom(out, upstream.data);
    const cmp = compareArrays(densify(table), expected.data, SINGLE_OP_TOLERANCE);
    results.push(caseResult(`${r.file} ${path}${kwargsLabel(c.kwargs)}`, cmp, SINGLE_OP_TOLERANCE));
  });
  const bags = 'embedding_bag' in root ? r.array(root.embedding_bag, 'embedding_bag') : [];
  bags.forEach((raw, i) => {
    const path = `embedding_bag[${i}]`;
    const c = r.object(raw, path);
    const weight = r.tensor(r.field(c, 'weight', path), `${path}.weight`);
    const kwargs = { ...(c.kwargs && typeof c.kwargs === 'object' ? c.kwargs : {}) } as Record<string, unknown>;
    if (c.padding_idx !== undefined && c.padding_idx !== null) kwargs.padding_idx = c.padding_idx;
    if (c.scale_grad_by_freq !== undefined) kwargs.scale_grad_by_freq = c.scale_grad_by_freq;
    const spec = specFromKwargs(r, kwargs, weight.shape, `${path}.kwargs`);
    const mode = r.string(r.field(c, 'mode', path), `${path}.mode`);
    if (mode !== 'sum' && mode !== 'mean' && mode !== 'max')
      throw r.fail(`${path}.mode`, `must be sum, mean or max, got ${mode}`);
    const input = r.indices(r.field(c, 'input', path), `${path}.input`);
    const offsets = c.offsets === undefined || c.offsets === null ? null : r.indices(c.offsets, `${path}.offsets`).data;
    const psw =
      c.per_sample_weights === undefined || c.per_sample_weights === null
        ? null
        : r.tensor(c.per_sample_weights, `${path}.per_sample_weights`);
    const includeLastOffset = c.include_last_offset === true || kwargs.include_last_offset === true;
    const expectedOut = r.tensor(r.field(c, 'output', path), `${path}.output`);
    const upstream = r.tensor(r.field(c, 'upstream_grad', path), `${path}.upstream_grad`);
    const expectedGrad = r.tensor(r.field(c, 'weight_grad_dense', path), `${path}.weight_grad_dense`);
    const table = new LocalTable(spec, Float32Array.from(weight.data));
    const pswTensor = psw ? new Tensor(psw.shape, Float32Array.from(psw.data)) : null;
    const out = embeddingBag(table, input, { mode: mode as BagMode, offsets, perSampleWeights: pswTensor, includeLastOffset });
    if (out.size !== upstream.data.length)
      throw r.fail(`${path}.upstream_grad`, `has ${upstream.data.length} values, output has ${out.size}`);
    const outCmp = compareArrays(out.data, expectedOut.data, SINGLE_OP_TOLERANCE);
    backwardFrom(out, upstream.data);
    const gradCmp = compareArrays(densify(table), expectedGrad.data, SINGLE_OP_TOLERANCE);
    const label = `${r.file} ${path} mode=${mode}${psw ? ' per_sample_weights' : ''}${kwargsLabel(c.kwargs).replace(' defaults', '')}`;
    results.push(caseResult(label, mergeComparisons([outCmp, gradCmp]), SINGLE_OP_TOLERANCE));
  });
  return results;
}
