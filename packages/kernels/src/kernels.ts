/**
 * The kernels a forward and backward pass run, over Float32Array views. Two implementations
 * with one contract: `jsKernels` (plain loops, the reference the tests compare against) and
 * `WasmKernels` (WebAssembly SIMD, in place when the arrays lie in its memory). Every
 * output element is one running sum in a fixed order, so both are deterministic; they agree
 * to float32 rounding, not bit for bit (the JS loops sum in float64).
 *
 * Shapes are row-major; "accumulate" kernels add into their output (gradients).
 */
export type BagMode = 'sum' | 'mean' | 'max';

/** Which implementation: what LocalTrainer's `kernels` option and the parity runner choose between. */
export type KernelsName = Kernels['name'];

export interface Kernels {
  readonly name: 'js' | 'wasm';
  /** out [rows, outF] = x [rows, inF] · Wᵀ + b, W [outF, inF]. */
  linearForward(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    out: Float32Array,
    rows: number,
    inF: number,
    outF: number,
  ): void;
  /** gx += g · W (accumulate). */
  linearGradInput(g: Float32Array, w: Float32Array, gx: Float32Array, rows: number, inF: number, outF: number): void;
  /** gw += gᵀ · x, and gb += Σ_rows g when given (accumulate). */
  linearGradWeight(
    g: Float32Array,
    x: Float32Array,
    gw: Float32Array,
    gb: Float32Array | null,
    rows: number,
    inF: number,
    outF: number,
  ): void;
  reluForward(x: Float32Array, out: Float32Array): void;
  /** gx += g where out > 0 (accumulate). */
  reluBackward(out: Float32Array, g: Float32Array, gx: Float32Array): void;
  /**
   * A dropout mask as factors, out[i] = 1/(1−p) where element i is kept and 0 where dropped:
   * element i keeps when its Philox4x32-10 draw (key, block [i/4, counter, 0x0d70]) maps to
   * u ≥ p in (0, 1), the same bits in either implementation.
   */
  dropoutMask(out: Float32Array, key: { k0: number; k1: number }, counter: number, p: number): void;
  /** out = x ⊙ scale (dropout with a mask of 0 and 1/(1−p)). */
  mul(x: Float32Array, scale: Float32Array, out: Float32Array): void;
  /** acc += x ⊙ scale (accumulate). */
  mulAdd(x: Float32Array, scale: Float32Array, acc: Float32Array): void;
  /** Mean cross-entropy of logits [n, c] against class ids; leaves softmax in probs [n, c]. */
  softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, probs: Float32Array, n: number, c: number): number;
  /** gl += (g / n)·(probs − onehot(targets)) (accumulate). */
  softmaxCrossEntropyBackward(probs: Float32Array, targets: Int32Array, g: number, gl: Float32Array, n: number, c: number): void;
  /**
   * EmbeddingBag forward: bag b pools positions offsets[b] .. offsets[b+1], position p reading
   * row rowIndex[p] of `rows` [*, dim]; out [bags, dim]. `argmax` [bags, dim] records the winning
   * position for max (−1 for an empty bag). perSample weights apply in sum mode.
   */
  bagForward(
    mode: BagMode,
    offsets: Int32Array,
    rowIndex: Int32Array,
    perSample: Float32Array | null,
    rows: Float32Array,
    out: Float32Array,
    argmax: Int32Array | null,
    dim: number,
  ): void;
  /** EmbeddingBag backward into gradRows [*, dim] (accumulate), the forward's arguments. */
  bagBackward(
    mode: BagMode,
    offsets: Int32Array,
    rowIndex: Int32Array,
    perSample: Float32Array | null,
    gradOut: Float32Array,
    gradRows: Float32Array,
    argmax: Int32Array | null,
    dim: number,
  ): void;
  /**
   * Each bag's sum [bags, dim] into `out`, in the id tree's order (id-tree.ts): bag b's
   * positions are bounds[b] .. bounds[b+1], position p reads row rowIndex[p] of `rows` and is
   * in leaf leafOf[p] (its id mod ID_TREE_LEAVES). Float32 adds in the tree's order: the same
   * bits in either implementation, and on a shard (its pooled pulls in BSP).
   */
  idTreeBagSums(
    bounds: Int32Array,
    rowIndex: Int32Array,
    leafOf: Int32Array,
    rows: Float32Array,
    out: Float32Array,
    dim: number,
  ): void;
  /** out [n, dim] = rows of src at index [n]. */
  gatherRows(src: Float32Array, index: Int32Array, out: Float32Array, dim: number): void;
  /** dst[index[i]] += scale·src[i], i in order (accumulate). */
  scatterAddRows(src: Float32Array, index: Int32Array, dst: Float32Array, dim: number, scale: number): void;
}

export const bagModeCode: Readonly<Record<BagMode, number>> = { sum: 0, mean: 1, max: 2 };
