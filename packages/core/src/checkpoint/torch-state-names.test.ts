import { describe, expect, it } from 'vitest';
import { parseSparseOptimizerConfig } from '../sparse/config.js';
import { torchOptimizerState } from './torch-state-names.js';

const names = (kind: string) => {
  const s = torchOptimizerState(parseSparseOptimizerConfig({ kind, lr: 0.1 }), 4);
  return { className: s.className, tensors: s.slots.map((x) => [x.tensor, x.width, x.offset]), step: s.stepTensor };
};

describe("exported optimizer state, in PyTorch's names", () => {
  it('one tensor per slot of each optimizer, state.weight.<key>, and the step where torch.optim keeps one', () => {
    expect(names('sparse_adam')).toEqual({
      className: 'SparseAdam',
      tensors: [
        ['state.weight.exp_avg', 4, 0],
        ['state.weight.exp_avg_sq', 4, 4],
      ],
      step: 'state.weight.step',
    });
    expect(names('adagrad')).toEqual({ className: 'Adagrad', tensors: [['state.weight.sum', 4, 0]], step: 'state.weight.step' });
    expect(names('rowwise_adagrad')).toEqual({ className: 'RowWiseAdagrad', tensors: [['state.weight.sum', 1, 0]], step: null });
    expect(names('sgd')).toEqual({ className: 'SGD', tensors: [], step: null });
  });

  it("the param group under PyTorch's names", () => {
    const adagrad = parseSparseOptimizerConfig({ kind: 'adagrad', lr: 0.5, lr_decay: 0.01, initial_accumulator_value: 0.1 });
    expect(torchOptimizerState(adagrad, 4).paramGroup).toEqual({
      lr: 0.5,
      lr_decay: 0.01,
      weight_decay: 0,
      initial_accumulator_value: 0.1,
      eps: 1e-10,
      params: ['weight'],
    });
  });
});
