import type { SparseOptimizerConfig, SparseStepContext } from '@rowshard/core';
import type { KernelExports } from './kernel-module.js';

/**
 * One sparse optimizer step over `n` rows, as one kernel call: the weights of row i at byte
 * offset u32[wOffs + 4i], its state at u32[sOffs + 4i], its gradient row i of `grads`. The
 * per-step scalars torch.optim folds in (Adagrad's lr decay, SparseAdam's bias correction)
 * are worked out here, once per call, so every caller (a shard, the tests, the benchmark)
 * runs the same arithmetic as core's reference `sparseRowOptimizer`.
 */
export function optimizerRows(
  k: KernelExports,
  config: SparseOptimizerConfig,
  n: number,
  dim: number,
  wOffs: number,
  sOffs: number,
  grads: number,
  ctx: SparseStepContext,
): void {
  switch (config.kind) {
    case 'sgd':
      k.sgdRows(n, dim, wOffs, grads, ctx.lr, config.weightDecay);
      return;
    case 'adagrad':
      k.adagradRows(n, dim, wOffs, sOffs, grads, ctx.lr / (1 + (ctx.step - 1) * config.lrDecay), config.weightDecay, config.eps);
      return;
    case 'sparse_adam': {
      const [beta1, beta2] = config.betas;
      const stepSize = (ctx.lr * Math.sqrt(1 - beta2 ** ctx.step)) / (1 - beta1 ** ctx.step);
      k.sparseAdamRows(n, dim, wOffs, sOffs, grads, stepSize, beta1, beta2, config.eps);
      return;
    }
    case 'rowwise_adagrad':
      k.rowwiseAdagradRows(n, dim, wOffs, sOffs, grads, ctx.lr, config.weightDecay, config.eps);
  }
}
