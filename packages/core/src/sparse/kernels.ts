import type { SparseOptimizerConfig } from './config.js';

/**
 * Per-row sparse update kernels: pure functions over typed arrays, so the same code runs in
 * a unit test, in single-process mode (one Float32Array per table) and on a parameter server
 * (rows and state in pages). A caller coalesces duplicate ids first and then calls
 * `updateRow` once per distinct row.
 *
 * Arithmetic is in float64 and rounded once when stored; PyTorch rounds each intermediate
 * tensor to float32, and the two agree well inside the fixtures' 1e-5.
 */
export interface SparseStepContext {
  /** Learning rate for this step (the scheduled value; config.lr is only the base). */
  readonly lr: number;
  /** 1-based count of optimizer steps taken on this table, this one included. */
  readonly step: number;
}

export interface SparseRowOptimizer {
  readonly config: SparseOptimizerConfig;
  readonly dim: number;
  /** Optimizer state floats kept beside each row (Adagrad: dim, SparseAdam: 2·dim). */
  readonly stateFloatsPerRow: number;
  /** True when a fresh row's state is all zeros (a freshly allocated page needs no initState). */
  readonly stateStartsAtZero: boolean;
  /** Names of the state slots, in storage order, each `slotWidth` floats wide. */
  readonly slotNames: readonly string[];
  readonly slotWidth: number;
  initState(state: Float32Array, offset: number): void;
  updateRow(
    weights: Float32Array,
    weightOffset: number,
    state: Float32Array,
    stateOffset: number,
    grad: Float32Array,
    gradOffset: number,
    ctx: SparseStepContext,
  ): void;
}

export function sparseRowOptimizer(config: SparseOptimizerConfig, dim: number): SparseRowOptimizer {
  switch (config.kind) {
    case 'sgd':
      return sgd(config, dim);
    case 'adagrad':
      return adagrad(config, dim);
    case 'sparse_adam':
      return sparseAdam(config, dim);
    case 'rowwise_adagrad':
      return rowwiseAdagrad(config, dim);
  }
}

function sgd(config: Extract<SparseOptimizerConfig, { kind: 'sgd' }>, dim: number): SparseRowOptimizer {
  const wd = config.weightDecay;
  return {
    config,
    dim,
    stateFloatsPerRow: 0,
    stateStartsAtZero: true,
    slotNames: [],
    slotWidth: dim,
    initState() {},
    updateRow(w, wo, _s, _so, g, go, { lr }) {
      for (let d = 0; d < dim; d++) {
        const grad = g[go + d] + wd * w[wo + d];
        w[wo + d] = w[wo + d] - lr * grad;
      }
    },
  };
}

/**
 * torch.optim.Adagrad on a sparse gradient: state_sum += g²; w -= clr·g/(√state_sum + eps),
 * clr = lr / (1 + (step-1)·lr_decay). PyTorch refuses weight_decay with sparse gradients;
 * here it is applied lazily to the rows in the gradient (g += wd·w), the usual choice for
 * sparse tables, and documented as such.
 */
function adagrad(config: Extract<SparseOptimizerConfig, { kind: 'adagrad' }>, dim: number): SparseRowOptimizer {
  const { lrDecay, eps, weightDecay: wd, initialAccumulatorValue } = config;
  return {
    config,
    dim,
    stateFloatsPerRow: dim,
    stateStartsAtZero: initialAccumulatorValue === 0,
    slotNames: ['sum'],
    slotWidth: dim,
    initState(s, so) {
      s.fill(initialAccumulatorValue, so, so + dim);
    },
    updateRow(w, wo, s, so, g, go, { lr, step }) {
      const clr = lr / (1 + (step - 1) * lrDecay);
      for (let d = 0; d < dim; d++) {
        const grad = wd === 0 ? g[go + d] : g[go + d] + wd * w[wo + d];
        const sum = s[so + d] + grad * grad;
        s[so + d] = sum;
        w[wo + d] -= (clr * grad) / (Math.sqrt(sum) + eps);
      }
    },
  };
}

/**
 * torch.optim.SparseAdam (1.13): moments are updated only for rows in the gradient, and the
 * bias correction uses the table's step count, not per-row counts.
 */
function sparseAdam(config: Extract<SparseOptimizerConfig, { kind: 'sparse_adam' }>, dim: number): SparseRowOptimizer {
  const [beta1, beta2] = config.betas;
  const eps = config.eps;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  return {
    config,
    dim,
    stateFloatsPerRow: 2 * dim,
    stateStartsAtZero: true,
    slotNames: ['exp_avg', 'exp_avg_sq'],
    slotWidth: dim,
    initState(s, so) {
      s.fill(0, so, so + 2 * dim);
    },
    updateRow(w, wo, s, so, g, go, { lr, step }) {
      const bc1 = 1 - beta1 ** step;
      const bc2 = 1 - beta2 ** step;
      const stepSize = (lr * Math.sqrt(bc2)) / bc1;
      const vo = so + dim;
      for (let d = 0; d < dim; d++) {
        const grad = g[go + d];
        const m0 = s[so + d];
        const v0 = s[vo + d];
        const m = m0 + (grad - m0) * c1;
        const v = v0 + (grad * grad - v0) * c2;
        s[so + d] = m;
        s[vo + d] = v;
        w[wo + d] -= (stepSize * m) / (Math.sqrt(v) + eps);
      }
    },
  };
}

/**
 * Row-wise Adagrad (FBGEMM/TorchRec's EXACT_ROWWISE_ADAGRAD): one accumulator per row,
 * acc += mean(g²), so the state costs 4 bytes a row instead of 4·dim.
 */
function rowwiseAdagrad(config: Extract<SparseOptimizerConfig, { kind: 'rowwise_adagrad' }>, dim: number): SparseRowOptimizer {
  const { eps, weightDecay: wd, initialAccumulatorValue } = config;
  return {
    config,
    dim,
    stateFloatsPerRow: 1,
    stateStartsAtZero: initialAccumulatorValue === 0,
    slotNames: ['sum'],
    slotWidth: 1,
    initState(s, so) {
      s[so] = initialAccumulatorValue;
    },
    updateRow(w, wo, s, so, g, go, { lr }) {
      let sq = 0;
      for (let d = 0; d < dim; d++) {
        const grad = g[go + d] + wd * w[wo + d];
        sq += grad * grad;
      }
      const acc = Math.fround(s[so] + sq / dim);
      s[so] = acc;
      const scale = lr / (Math.sqrt(acc) + eps);
      for (let d = 0; d < dim; d++) {
        const grad = g[go + d] + wd * w[wo + d];
        w[wo + d] = w[wo + d] - scale * grad;
      }
    },
  };
}
