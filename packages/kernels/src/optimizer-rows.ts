import type { SparseOptimizerConfig, SparseStepContext } from '@rowshard/core';
import type { KernelExports } from './kernel-module.js';

/**
 * One sparse optimizer step over `n` rows, as one kernel call: the weights of row i at byte
 * offset u32[wOffs + 4i], its state at u32[sOffs + 4i], its gradient row i of `grads`. The
 * per-step scalars torch.optim folds in (Adagrad's lr decay, SparseAdam's bias correction)
 * are worked out here, once per call, so every caller (a shard, the tests, the benchmark)
 * runs the same arithmetic as core's reference `sparseRowOptimizer`. With `save` (a block of
 * n × (dim + state floats) floats) each row's weights and state are copied there before they
 * change. Returns the first row whose new weights or state are not finite, or -1.
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
  save = 0,
): number {
  switch (config.kind) {
    case 'sgd':
      return k.sgdRows(n, dim, wOffs, grads, ctx.lr, config.weightDecay, save);
    case 'adagrad': {
      const clr = ctx.lr / (1 + (ctx.step - 1) * config.lrDecay);
      return k.adagradRows(n, dim, wOffs, sOffs, grads, clr, config.weightDecay, config.eps, save);
    }
    case 'sparse_adam': {
      const [beta1, beta2] = config.betas;
      const stepSize = (ctx.lr * Math.sqrt(1 - beta2 ** ctx.step)) / (1 - beta1 ** ctx.step);
      return k.sparseAdamRows(n, dim, wOffs, sOffs, grads, stepSize, beta1, beta2, config.eps, save);
    }
    case 'rowwise_adagrad':
      return k.rowwiseAdagradRows(n, dim, wOffs, sOffs, grads, ctx.lr, config.weightDecay, config.eps, save);
  }
}
