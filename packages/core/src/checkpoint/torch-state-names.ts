import type { SparseOptimizerConfig } from '../sparse/config.js';
import { sparseRowOptimizer } from '../sparse/kernels.js';

/**
 * How an exported table and its optimizer state are named, so that a PyTorch user finds
 * what `nn.Embedding.state_dict()` and `optimizer.state_dict()` would hold. The file is one
 * `nn.Embedding`: its parameter is `weight`. The optimizer's per-parameter state is flattened
 * the way torch.distributed.checkpoint flattens an optimizer state dict keyed by parameter
 * name: `state.<param>.<key>`, so `state.weight.exp_avg`, `state.weight.exp_avg_sq` and
 * `state.weight.step` for SparseAdam, `state.weight.sum` and `state.weight.step` for Adagrad.
 * The hyperparameters are the param group, under PyTorch's names. Row-wise Adagrad (no
 * torch.optim counterpart; FBGEMM's EXACT_ROWWISE_ADAGRAD) keeps one `sum` per row, so its
 * `state.weight.sum` is [rows]; SGD has no state.
 */
export const EXPORTED_PARAM = 'weight';

export interface TorchSlot {
  /** The key in PyTorch's per-parameter state ('exp_avg', 'sum'). */
  readonly key: string;
  /** The tensor's name in an export: `state.weight.<key>`. */
  readonly tensor: string;
  /** Floats per row; 1 means the tensor is [rows]. */
  readonly width: number;
  /** Where the slot starts within a row's state, in floats. */
  readonly offset: number;
}

export interface TorchOptimizerState {
  /** torch.optim's class name ('SparseAdam', 'Adagrad', 'SGD'); 'RowWiseAdagrad' has none. */
  readonly className: string;
  /** The param group as `optimizer.state_dict()['param_groups'][0]` holds it (base lr), params by name. */
  readonly paramGroup: Record<string, unknown>;
  readonly slots: readonly TorchSlot[];
  /** `state.weight.step`, a float32 scalar as torch.optim keeps it since 1.12; null where the optimizer counts no steps. */
  readonly stepTensor: string | null;
}

export function torchOptimizerState(config: SparseOptimizerConfig, dim: number): TorchOptimizerState {
  const rowOptimizer = sparseRowOptimizer(config, dim);
  const slots = rowOptimizer.slotNames.map((key, i) => ({
    key,
    tensor: `state.${EXPORTED_PARAM}.${key}`,
    width: rowOptimizer.slotWidth,
    offset: i * rowOptimizer.slotWidth,
  }));
  const params = [EXPORTED_PARAM];
  const step = `state.${EXPORTED_PARAM}.step`;
  switch (config.kind) {
    case 'sgd':
      return {
        className: 'SGD',
        paramGroup: { lr: config.lr, momentum: 0, dampening: 0, weight_decay: config.weightDecay, nesterov: false, params },
        slots,
        stepTensor: null,
      };
    case 'adagrad':
      return {
        className: 'Adagrad',
        paramGroup: {
          lr: config.lr,
          lr_decay: config.lrDecay,
          weight_decay: config.weightDecay,
          initial_accumulator_value: config.initialAccumulatorValue,
          eps: config.eps,
          params,
        },
        slots,
        stepTensor: step,
      };
    case 'sparse_adam':
      return {
        className: 'SparseAdam',
        paramGroup: { lr: config.lr, betas: config.betas, eps: config.eps, params },
        slots,
        stepTensor: step,
      };
    case 'rowwise_adagrad':
      return {
        className: 'RowWiseAdagrad',
        paramGroup: {
          lr: config.lr,
          weight_decay: config.weightDecay,
          initial_accumulator_value: config.initialAccumulatorValue,
          eps: config.eps,
          params,
        },
        slots,
        stepTensor: null,
      };
  }
}
