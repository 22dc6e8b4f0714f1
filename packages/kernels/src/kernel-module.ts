import { kernelsWasmBase64 } from './generated/kernels-wasm.js';

/** A WebAssembly.Memory, as much of it as the kernels use. */
export interface LinearMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** What the WebAssembly module exports (packages/kernels/assembly): loops over its memory. */
export interface KernelExports {
  readonly memory: LinearMemory;
  heapBase(): number;
  // The optimizers save each row first when `save` is not 0, and return the first row left
  // non-finite, or -1 (assembly/optimizers.ts).
  sgdRows(n: number, dim: number, wOffs: number, grads: number, lr: number, weightDecay: number, save: number): number;
  adagradRows(
    n: number,
    dim: number,
    wOffs: number,
    sOffs: number,
    grads: number,
    clr: number,
    wd: number,
    eps: number,
    save: number,
  ): number;
  sparseAdamRows(
    n: number,
    dim: number,
    wOffs: number,
    sOffs: number,
    grads: number,
    stepSize: number,
    beta1: number,
    beta2: number,
    eps: number,
    save: number,
  ): number;
  rowwiseAdagradRows(
    n: number,
    dim: number,
    wOffs: number,
    sOffs: number,
    grads: number,
    lr: number,
    wd: number,
    eps: number,
    save: number,
  ): number;
  gatherRows(n: number, dim: number, srcOffs: number, out: number): void;
  scatterAddRows(n: number, dim: number, src: number, index: number, dst: number, scale: number): void;
  scatterRows(n: number, dim: number, src: number, dstOffs: number): void;
  addRowsAt(n: number, dim: number, srcOffs: number, dstOffs: number): void;
  idTreeSums(
    bags: number,
    dim: number,
    leaves: number,
    bounds: number,
    srcOffs: number,
    leafOf: number,
    out: number,
    scratch: number,
  ): void;
  bagForward(
    mode: number,
    bags: number,
    dim: number,
    offsets: number,
    rowIndex: number,
    perSample: number,
    rows: number,
    out: number,
    argmax: number,
  ): void;
  bagBackward(
    mode: number,
    bags: number,
    dim: number,
    offsets: number,
    rowIndex: number,
    perSample: number,
    gradOut: number,
    gradRows: number,
    argmax: number,
  ): void;
  transpose(rows: number, cols: number, src: number, dst: number): void;
  linearForward(rows: number, inF: number, outF: number, x: number, wt: number, b: number, out: number): void;
  linearGradInput(rows: number, inF: number, outF: number, g: number, w: number, gx: number): void;
  linearGradWeight(rows: number, inF: number, outF: number, g: number, x: number, gw: number, gb: number): void;
  reluForward(n: number, x: number, out: number): void;
  reluBackward(n: number, out: number, g: number, gx: number): void;
  mulElementwise(n: number, x: number, scale: number, out: number): void;
  mulAddElementwise(n: number, x: number, scale: number, acc: number): void;
  softmaxCrossEntropy(n: number, c: number, logits: number, targets: number, probs: number): number;
  softmaxCrossEntropyBackward(n: number, c: number, probs: number, targets: number, g: number, gl: number): void;
  dropoutMask(
    n: number,
    k0: number,
    k1: number,
    counterLo: number,
    counterHi: number,
    threshold: number,
    scale: number,
    out: number,
  ): void;
  firstNonFinite(n: number, values: number): number;
  philoxRowBlocks(k0: number, k1: number, rowLo: number, rowHi: number, tag: number, blocks: number, out: number): void;
  uniformRow(
    k0: number,
    k1: number,
    rowLo: number,
    rowHi: number,
    tag: number,
    count: number,
    a: number,
    width: number,
    out: number,
    scratch: number,
  ): void;
  uniformRows(
    k0: number,
    k1: number,
    firstLo: number,
    rowHi: number,
    rows: number,
    tag: number,
    dim: number,
    a: number,
    width: number,
    out: number,
    scratch: number,
  ): void;
}

/** The WebAssembly API of the JavaScript engine (Node's global), typed as far as used here. */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const { WebAssembly: wasm, atob: decodeBase64 } = globalThis as unknown as {
  WebAssembly: WebAssemblyApi;
  atob(text: string): string;
};

let compiled: object | null = null;

/**
 * A new instance of the kernels with a memory of its own. The module is compiled once per
 * thread from the bytes the build embedded (scripts/build-wasm.mjs).
 */
export function instantiateKernels(): KernelExports {
  if (!compiled) {
    const text = decodeBase64(kernelsWasmBase64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    compiled = new wasm.Module(bytes);
  }
  return new wasm.Instance(compiled, {}).exports as KernelExports;
}
