import { fillUniformRow, streamKey } from '@rowshard/core';

/** How a dense parameter starts. `linear` is nn.Linear's: U(-1/√fanIn, 1/√fanIn) for weight and bias. */
export type DenseInit = { kind: 'linear'; fanIn: number } | { kind: 'zeros' } | { kind: 'uniform'; a: number; b: number };

/** Deterministic dense init from Philox keyed by (seed, parameter name). */
export function initDenseParam(seed: number, name: string, size: number, init: DenseInit): Float32Array {
  const out = new Float32Array(size);
  const key = streamKey(seed, `dense:${name}`);
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'uniform':
      fillUniformRow(key, 0, 0, 0, out, 0, size, init.a, init.b);
      return out;
    case 'linear': {
      // kaiming_uniform_(a=√5) reduces to this bound, and nn.Linear uses the same for bias.
      const bound = init.fanIn > 0 ? 1 / Math.sqrt(init.fanIn) : 0;
      fillUniformRow(key, 0, 0, 0, out, 0, size, -bound, bound);
      return out;
    }
  }
}
