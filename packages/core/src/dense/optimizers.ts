import type { DenseOptimizerConfig } from './config.js';

/**
 * Dense optimizer steps over one flat parameter: pure functions of (param, grad, state, lr),
 * transcribed from torch.optim 1.13's single-tensor code paths. State is a few named
 * Float32Arrays and a step counter, so it serialises into a checkpoint as-is.
 */
export interface DenseOptimizerState {
  step: number;
  readonly buffers: Record<string, Float32Array>;
}

export function createDenseState(config: DenseOptimizerConfig, size: number): DenseOptimizerState {
  switch (config.kind) {
    case 'sgd':
      return { step: 0, buffers: config.momentum !== 0 ? { momentum_buffer: new Float32Array(size) } : {} };
    case 'adam':
    case 'adamw': {
      const buffers: Record<string, Float32Array> = {
        exp_avg: new Float32Array(size),
        exp_avg_sq: new Float32Array(size),
      };
      if (config.amsgrad) buffers.max_exp_avg_sq = new Float32Array(size);
      return { step: 0, buffers };
    }
    case 'adagrad':
      return { step: 0, buffers: { sum: new Float32Array(size).fill(config.initialAccumulatorValue) } };
  }
}

/** Applies one step in place. `lr` is this step's scheduled learning rate. */
export function denseOptimizerStep(
  config: DenseOptimizerConfig,
  param: Float32Array,
  grad: Float32Array,
  state: DenseOptimizerState,
  lr: number,
): void {
  if (param.length !== grad.length) {
    throw new RangeError(`param has ${param.length} values but grad has ${grad.length}`);
  }
  state.step += 1;
  switch (config.kind) {
    case 'sgd':
      sgdStep(config, param, grad, state, lr);
      break;
    case 'adam':
    case 'adamw':
      adamStep(config, param, grad, state, lr);
      break;
    case 'adagrad':
      adagradStep(config, param, grad, state, lr);
      break;
  }
}

function sgdStep(
  config: Extract<DenseOptimizerConfig, { kind: 'sgd' }>,
  p: Float32Array,
  g: Float32Array,
  state: DenseOptimizerState,
  lr: number,
): void {
  const { momentum, dampening, weightDecay: wd, nesterov } = config;
  const buf = state.buffers.momentum_buffer;
  const first = state.step === 1;
  for (let i = 0; i < p.length; i++) {
    let d = Math.fround(g[i] + wd * p[i]);
    if (momentum !== 0) {
      // torch starts the buffer at the first gradient itself, without dampening.
      const b = first ? d : Math.fround(buf[i] * momentum + (1 - dampening) * d);
      buf[i] = b;
      d = nesterov ? Math.fround(d + momentum * b) : b;
    }
    p[i] = p[i] - lr * d;
  }
}

function adamStep(
  config: Extract<DenseOptimizerConfig, { kind: 'adam' | 'adamw' }>,
  p: Float32Array,
  g: Float32Array,
  state: DenseOptimizerState,
  lr: number,
): void {
  const [beta1, beta2] = config.betas;
  const { eps, weightDecay: wd, amsgrad } = config;
  const decoupled = config.kind === 'adamw';
  const m = state.buffers.exp_avg;
  const v = state.buffers.exp_avg_sq;
  const vmax = state.buffers.max_exp_avg_sq;
  const bc1 = 1 - beta1 ** state.step;
  const bc2Sqrt = Math.sqrt(1 - beta2 ** state.step);
  const stepSize = lr / bc1;
  for (let i = 0; i < p.length; i++) {
    if (decoupled) p[i] = p[i] * (1 - lr * wd);
    const grad = decoupled ? g[i] : Math.fround(g[i] + wd * p[i]);
    const mi = Math.fround(m[i] * beta1 + grad * (1 - beta1));
    const vi = Math.fround(v[i] * beta2 + grad * grad * (1 - beta2));
    m[i] = mi;
    v[i] = vi;
    let second = vi;
    if (amsgrad) {
      second = Math.max(vmax[i], vi);
      vmax[i] = second;
    }
    const denom = Math.sqrt(second) / bc2Sqrt + eps;
    p[i] = p[i] - (stepSize * mi) / denom;
  }
}

function adagradStep(
  config: Extract<DenseOptimizerConfig, { kind: 'adagrad' }>,
  p: Float32Array,
  g: Float32Array,
  state: DenseOptimizerState,
  lr: number,
): void {
  const { lrDecay, eps, weightDecay: wd } = config;
  const sum = state.buffers.sum;
  const clr = lr / (1 + (state.step - 1) * lrDecay);
  for (let i = 0; i < p.length; i++) {
    const grad = Math.fround(g[i] + wd * p[i]);
    const s = Math.fround(sum[i] + grad * grad);
    sum[i] = s;
    p[i] = p[i] - (clr * grad) / (Math.sqrt(s) + eps);
  }
}
