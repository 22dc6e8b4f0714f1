import { describe, expect, it } from 'vitest';
import { backward } from './autograd.js';
import { bceWithLogits, crossEntropy, mseLoss } from './losses.js';
import { add, mul, relu } from './ops/elementwise.js';
import { linear } from './ops/linear.js';
import { concatLast, meanDim, rowDot, sumDim } from './ops/reduce.js';
import { parameter, Tensor } from './tensor.js';

/** Central finite differences on every input value, against the autograd gradient. */
function gradcheck(inputs: Tensor[], f: (xs: Tensor[]) => Tensor): void {
  const loss = f(inputs);
  backward(loss);
  const h = 1e-2;
  for (const x of inputs) {
    const analytic = x.grad ?? new Float32Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const keep = x.data[i];
      x.data[i] = keep + h;
      const up = f(inputs).item();
      x.data[i] = keep - h;
      const down = f(inputs).item();
      x.data[i] = keep;
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(numeric - analytic[i])).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
    }
  }
}

let seed = 1;
function rand(shape: number[], name = 'x'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    data[i] = (seed / 2147483648) * 2 - 1;
  }
  return parameter(name, shape, data);
}

describe('autograd agrees with finite differences', () => {
  it('linear → relu → cross entropy', () => {
    gradcheck([rand([4, 3]), rand([5, 3]), rand([5])], ([x, w, b]) => crossEntropy(relu(linear(x, w, b)), [0, 4, 2, 1]));
  });

  it('mean over a middle dim, concat, rowDot, mse', () => {
    gradcheck([rand([2, 3, 4]), rand([2, 2])], ([e, f]) => {
      const m = meanDim(e, 1);
      return mseLoss(rowDot(concatLast([m, f]), concatLast([f, m])), [0.5, -1]);
    });
  });

  it('sum over a dim, add, mul, BCE with logits', () => {
    gradcheck([rand([3, 2]), rand([3, 2])], ([a, b]) => bceWithLogits(sumDim(mul(add(a, b), b), 1), [1, 0, 1]));
  });

  it('a tensor used twice accumulates both gradients', () => {
    const x = parameter('x', [1], Float32Array.from([3]));
    backward(sumDim(mul(x, x), 0));
    expect(x.grad?.[0]).toBe(6);
  });
});

describe('losses match PyTorch conventions', () => {
  it('cross entropy is the mean negative log-likelihood', () => {
    const logits = new Tensor([2, 2], Float32Array.from([0, 0, 0, Math.log(3)]));
    expect(crossEntropy(logits, [0, 1]).item()).toBeCloseTo((Math.log(2) + Math.log(4 / 3)) / 2, 6);
  });

  it('refuses a target outside the classes', () => {
    expect(() => crossEntropy(new Tensor([1, 2], new Float32Array(2)), [2])).toThrow(
      /target 2 at row 0 is not a class in \[0, 2\)/,
    );
  });
});
