import { buildHuffmanTree, huffmanPath } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { backward } from '../autograd.js';
import { binaryLogisticTerms } from '../losses.js';
import { bagMeanFullGrad } from '../ops/bag-mean-full-grad.js';
import { rowDot } from '../ops/row-dot.js';
import { Tensor } from '../tensor.js';

const logitsOf = (values: number[], shape: [number, number]) =>
  new Tensor(shape, Float32Array.from(values), { requiresGrad: true });

describe("fastText's binary losses", () => {
  it('sums -log σ(±x) over the chosen entries, averaged over examples, with the gradient σ(x) − label', () => {
    const x = logitsOf([0.5, -1, 2, 0], [2, 2]);
    const loss = binaryLogisticTerms(x, [0, 0, 1], [0, 1, 0], [1, 0, 0]);
    const sp = (z: number) => Math.log1p(Math.exp(z));
    expect(loss.data[0]).toBeCloseTo((sp(-0.5) + sp(-1) + sp(2)) / 2, 6);
    backward(loss);
    const s = (z: number) => 1 / (1 + Math.exp(-z));
    const g = x.grad as Float32Array;
    expect(g[0]).toBeCloseTo((s(0.5) - 1) / 2, 6);
    expect(g[1]).toBeCloseTo(s(-1) / 2, 6);
    expect(g[2]).toBeCloseTo(s(2) / 2, 6);
    expect(g[3]).toBe(0);
  });

  it("reduction 'sum' leaves out the average: the loss and gradients of fastText's one-at-a-time updates, added up", () => {
    const x = logitsOf([0.5, -1, 2, 0], [2, 2]);
    const loss = binaryLogisticTerms(x, [0, 0, 1], [0, 1, 0], [1, 0, 0], 'sum');
    const sp = (z: number) => Math.log1p(Math.exp(z));
    expect(loss.data[0]).toBeCloseTo(sp(-0.5) + sp(-1) + sp(2), 6);
    backward(loss);
    const s = (z: number) => 1 / (1 + Math.exp(-z));
    expect(Array.from(x.grad as Float32Array, (v) => Number(v.toFixed(6)))).toEqual(
      [s(0.5) - 1, s(-1), s(2), 0].map((v) => Number(Math.fround(v).toFixed(6))),
    );
  });

  it("builds fastText's Huffman tree: rare labels deep, every path ending at the root", () => {
    const counts = [50, 20, 10, 5, 5];
    const tree = buildHuffmanTree(counts);
    expect(tree.root).toBe(8);
    const depth = counts.map((_, i) => huffmanPath(tree, i).rows.length);
    expect(depth[0]).toBe(1);
    expect(depth[4]).toBeGreaterThanOrEqual(depth[1]);
    for (let i = 0; i < counts.length; i++) for (const r of huffmanPath(tree, i).rows) expect(r).toBeLessThan(counts.length - 1);
  });

  it('scores output rows against their own example (row_dot), with gradients to both sides', () => {
    const h = logitsOf([1, 2, 3, 4], [2, 2]);
    const o = logitsOf([1, 0, 0, 1, 1, 1], [3, 2]);
    const out = rowDot(h, [0, 1, 1], o);
    expect([...out.data]).toEqual([1, 4, 7]);
    const loss = binaryLogisticTerms(out, [0, 1, 2], [0, 0, 0], [1, 0, 1]);
    backward(loss);
    const s = (z: number) => 1 / (1 + Math.exp(-z));
    const g = [(s(1) - 1) / 3, s(4) / 3, (s(7) - 1) / 3];
    const gh = h.grad as Float32Array;
    expect(gh[0]).toBeCloseTo(g[0] * 1, 6);
    expect(gh[2]).toBeCloseTo(g[1] * 0 + g[2] * 1, 6);
    expect(gh[3]).toBeCloseTo(g[1] * 1 + g[2] * 1, 6);
    expect((o.grad as Float32Array)[2]).toBeCloseTo(g[1] * 3, 6);
  });

  it("averages bags forward but hands the whole gradient to each bag's sum, as fastText's unsupervised update", () => {
    const sums = logitsOf([2, 4, 3, 9], [2, 2]);
    // Bags of 2 and 3 input rows.
    const h = bagMeanFullGrad(sums, [0, 2], 5);
    expect([...h.data]).toEqual([1, 2, 1, 3]);
    const loss = binaryLogisticTerms(rowDot(h, [0], logitsOf([1, 1], [1, 2])), [0], [0], [1]);
    backward(loss);
    const g = 1 / (1 + Math.exp(-3)) - 1;
    expect((sums.grad as Float32Array)[0]).toBeCloseTo(g, 6);
    expect((sums.grad as Float32Array)[2]).toBe(0);
  });
});
