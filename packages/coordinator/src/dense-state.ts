import {
  createDenseState,
  type DenseOptimizerConfig,
  type DenseOptimizerState,
  denseConfigOf,
  denseOptimizerStep,
  ErrorCodes,
  findGroup,
  lrAt,
  type OptimizerGroup,
  RowshardError,
} from '@rowshard/core';
import { type DenseParamSpec, initDenseParam } from '@rowshard/nn';

interface DenseParam {
  readonly spec: DenseParamSpec;
  readonly size: number;
  values: Float32Array;
  readonly group: OptimizerGroup;
  readonly config: DenseOptimizerConfig;
  readonly state: DenseOptimizerState;
}

/**
 * The dense (non-embedding) parameters of a job and their optimizer state, kept by the
 * coordinator: they are small (a few Linear layers), every worker needs all of them every
 * step, and one owner makes BSP's rank-ordered sum trivial. Values are replaced, never
 * mutated in place, so a params object handed to a reply stays valid.
 */
export class DenseState {
  private readonly params = new Map<string, DenseParam>();
  /** Updates applied so far (BSP: steps; ASP/SSP: worker contributions). */
  version = 0;

  constructor(
    specs: readonly DenseParamSpec[],
    groups: readonly OptimizerGroup[],
    seed: number,
    initial: Record<string, Float32Array> = {},
  ) {
    for (const spec of specs) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const given = initial[spec.name];
      if (given && given.length !== size) {
        throw new RowshardError(
          ErrorCodes.BAD_CONFIG,
          `initial state for '${spec.name}' has ${given.length} values, needs ${size}`,
        );
      }
      const group = findGroup(groups, spec.group, `parameter '${spec.name}'`);
      const config = denseConfigOf(group);
      this.params.set(spec.name, {
        spec,
        size,
        values: given ? Float32Array.from(given) : initDenseParam(seed, spec.name, size, spec.init),
        group,
        config,
        state: createDenseState(config, size),
      });
    }
  }

  snapshot(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [name, p] of this.params) out[name] = p.values;
    return out;
  }

  /**
   * Checks a worker's gradient set against the parameters: every one present, right sizes,
   * finite values, nothing unknown. The frame's decoder has already checked that it is a map of
   * Float32Arrays; sizes and names are known only here.
   */
  checkGrads(grads: Record<string, Float32Array>): Record<string, Float32Array> {
    for (const [name, p] of this.params) {
      const v = grads[name];
      if (v === undefined || v.length !== p.size) {
        throw new RowshardError(ErrorCodes.BAD_GRADIENT, `dense gradient '${name}' must be a Float32Array of ${p.size} values`, {
          param: name,
        });
      }
      for (let i = 0; i < v.length; i++) {
        if (v[i] - v[i] !== 0)
          throw new RowshardError(ErrorCodes.BAD_GRADIENT, `dense gradient '${name}' holds ${v[i]} at ${i}`, { param: name });
      }
    }
    for (const name of Object.keys(grads)) {
      if (!this.params.has(name))
        throw new RowshardError(ErrorCodes.BAD_GRADIENT, `unknown dense parameter '${name}'`, { param: name });
    }
    return grads;
  }

  /**
   * One optimizer step with the sum of the given gradient sets, added in the order given
   * (BSP passes them in rank order). `step` is the 0-based step for the lr schedule.
   */
  apply(gradSets: readonly Record<string, Float32Array>[], step: number): void {
    for (const [name, p] of this.params) {
      let grad: Float32Array;
      if (gradSets.length === 1) grad = gradSets[0][name];
      else {
        grad = new Float32Array(p.size);
        for (const set of gradSets) {
          const g = set[name];
          for (let i = 0; i < grad.length; i++) grad[i] += g[i];
        }
      }
      const next = Float32Array.from(p.values);
      denseOptimizerStep(p.config, next, grad, p.state, lrAt(p.config.lr, p.group.schedule, step));
      p.values = next;
    }
    this.version++;
  }

  /** Optimizer state for checkpoints: per parameter, its step and buffers. */
  optimizerState(): Record<string, DenseOptimizerState> {
    const out: Record<string, DenseOptimizerState> = {};
    for (const [name, p] of this.params) out[name] = p.state;
    return out;
  }

  restore(
    values: Record<string, Float32Array>,
    states: Record<string, { step: number; buffers: Record<string, Float32Array> }>,
    version: number,
  ): void {
    for (const [name, p] of this.params) {
      const v = values[name];
      if (!v || v.length !== p.size)
        throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `checkpoint lacks dense parameter '${name}'`);
      p.values = Float32Array.from(v);
      const s = states[name];
      if (s) {
        p.state.step = s.step;
        for (const [k, buf] of Object.entries(p.state.buffers)) if (s.buffers[k]) buf.set(s.buffers[k]);
      }
    }
    this.version = version;
  }
}
