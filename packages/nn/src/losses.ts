import { ErrorCodes, RowshardError } from '@rowshard/core';
import { allocF32, allocI32, kernels } from './step-scope.js';
import { Tensor } from './tensor.js';

/** A one-element tensor's storage (from the step arena inside a step). */
function scalar(v: number): Float32Array {
  const out = allocF32(1);
  out[0] = v;
  return out;
}

/** nn.CrossEntropyLoss (mean reduction) over logits [N, C] and class ids in [0, C). */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>): Tensor {
  if (logits.shape.length !== 2) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `cross_entropy: logits must be [N, C], got [${logits.shape.join(', ')}]`);
  }
  const [n, c] = logits.shape;
  if (targets.length !== n) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `cross_entropy: ${n} rows of logits but ${targets.length} targets`);
  }
  const classes = allocI32(n);
  for (let r = 0; r < n; r++) {
    const t = targets[r];
    if (!Number.isInteger(t) || t < 0 || t >= c) {
      throw new RowshardError(ErrorCodes.BAD_DATA, `cross_entropy: target ${t} at row ${r} is not a class in [0, ${c})`, {
        row: r,
        target: t,
      });
    }
    classes[r] = t;
  }
  const probs = allocF32(n * c);
  const loss = kernels().softmaxCrossEntropy(logits.data, classes, probs, n, c);
  const result: Tensor = new Tensor([], scalar(loss), {
    parents: [logits],
    backward: () =>
      kernels().softmaxCrossEntropyBackward(probs, classes, (result.grad as Float32Array)[0], logits.gradBuffer(), n, c),
  });
  return result;
}

function checkSameSize(pred: Tensor, target: ArrayLike<number>, what: string): void {
  if (pred.size !== target.length) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `${what}: ${pred.size} predictions but ${target.length} targets`);
  }
}

/** nn.MSELoss (mean reduction). */
export function mseLoss(pred: Tensor, target: ArrayLike<number>): Tensor {
  checkSameSize(pred, target, 'mse_loss');
  const n = pred.size;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = pred.data[i] - target[i];
    total += d * d;
  }
  const result: Tensor = new Tensor([], scalar(total / n), {
    parents: [pred],
    backward: () => {
      const g = (result.grad as Float32Array)[0];
      const gp = pred.gradBuffer();
      for (let i = 0; i < n; i++) gp[i] += (g * 2 * (pred.data[i] - target[i])) / n;
    },
  });
  return result;
}

/** nn.BCEWithLogitsLoss (mean reduction), in the numerically stable form PyTorch uses. */
export function bceWithLogits(logits: Tensor, target: ArrayLike<number>): Tensor {
  checkSameSize(logits, target, 'binary_cross_entropy_with_logits');
  const n = logits.size;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = logits.data[i];
    total += Math.max(x, 0) - x * target[i] + Math.log1p(Math.exp(-Math.abs(x)));
  }
  const result: Tensor = new Tensor([], scalar(total / n), {
    parents: [logits],
    backward: () => {
      const g = (result.grad as Float32Array)[0] / n;
      const gl = logits.gradBuffer();
      for (let i = 0; i < n; i++) gl[i] += g * (1 / (1 + Math.exp(-logits.data[i])) - target[i]);
    },
  });
  return result;
}

/**
 * Binary logistic terms over chosen entries of logits [N, C], summed per example and averaged
 * over the N examples: for each term k, -log σ(x) when `positive[k]` else -log σ(−x), with x =
 * logits[rows[k], cols[k]]. fastText's ns, ova and hs losses are each such a sum (the target
 * and sampled negatives; every label; the nodes on the target's Huffman path), so one op
 * serves all three. An entry may repeat (a negative drawn twice counts twice, as in fastText).
 * `reduction: 'sum'` leaves out the average: a step then adds up the updates fastText's SGD
 * makes one example at a time.
 */
export function binaryLogisticTerms(
  logits: Tensor,
  rows: ArrayLike<number>,
  cols: ArrayLike<number>,
  positive: ArrayLike<number>,
  reduction: 'mean' | 'sum' = 'mean',
): Tensor {
  if (logits.shape.length !== 2) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `binary_logistic: logits must be [N, C], got [${logits.shape.join(', ')}]`);
  }
  const [n, c] = logits.shape;
  const terms = rows.length;
  if (cols.length !== terms || positive.length !== terms)
    throw new RowshardError(
      ErrorCodes.BAD_SHAPE,
      `binary_logistic: ${terms} rows, ${cols.length} columns, ${positive.length} signs`,
    );
  const at = allocI32(terms);
  for (let k = 0; k < terms; k++) {
    const r = rows[k];
    const col = cols[k];
    if (!Number.isInteger(r) || r < 0 || r >= n || !Number.isInteger(col) || col < 0 || col >= c)
      throw new RowshardError(ErrorCodes.BAD_DATA, `binary_logistic: entry (${r}, ${col}) is outside [${n}, ${c}]`);
    at[k] = r * c + col;
  }
  let total = 0;
  for (let k = 0; k < terms; k++) {
    const x = logits.data[at[k]];
    const z = positive[k] ? -x : x;
    // softplus(z) = -log σ(−z), stable for large |z|.
    total += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
  }
  const divisor = reduction === 'sum' ? 1 : Math.max(1, n);
  const result: Tensor = new Tensor([], scalar(total / divisor), {
    parents: [logits],
    backward: () => {
      const g = (result.grad as Float32Array)[0] / divisor;
      const gl = logits.gradBuffer();
      for (let k = 0; k < terms; k++) {
        const x = logits.data[at[k]];
        gl[at[k]] += g * (1 / (1 + Math.exp(-x)) - (positive[k] ? 1 : 0));
      }
    },
  });
  return result;
}
