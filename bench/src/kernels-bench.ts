import { parseSparseOptimizerConfig, rowInitializer, sparseRowOptimizer, tableSpec } from '@rowshard/core';
import { jsKernels, KernelMemory, type Kernels, kernelRowRandom, optimizerRows, StepArena, WasmKernels } from '@rowshard/kernels';
import { benchArgs } from './bench-args.js';
import { median } from './stats.js';

/**
 * Each kernel, the JavaScript reference against WebAssembly SIMD, in this process, at the
 * sizes of the seed text classifier's step (batch 256 × 32 tokens, dim 64, ~3.2k distinct
 * rows of a 1M-row table): median microseconds per call and the ratio.
 *
 *   pnpm bench:kernels [--json] [--repeats 200]
 */
const { values } = benchArgs('kernels', {
  options: { json: { type: 'boolean', default: false }, repeats: { type: 'string', default: '200' } },
  strict: true,
});
const REPEATS = Number(values.repeats);

function timeUs(run: () => void): number {
  for (let i = 0; i < Math.max(10, REPEATS / 10); i++) run();
  const samples: number[] = [];
  for (let r = 0; r < 9; r++) {
    const t = performance.now();
    for (let i = 0; i < REPEATS; i++) run();
    samples.push(((performance.now() - t) * 1000) / REPEATS);
  }
  return median(samples);
}

function fill(a: Float32Array, seed: number): Float32Array {
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

const B = 256;
const L = 32;
const D = 64;
const H = 64;
const DISTINCT = 3200;
const TABLE_ROWS = 200_000;

interface Row {
  kernel: string;
  jsUs: number;
  wasmUs: number;
  speedup: number;
}
const rows: Row[] = [];
const record = (kernel: string, jsUs: number, wasmUs: number) =>
  rows.push({ kernel, jsUs: round(jsUs), wasmUs: round(wasmUs), speedup: round(jsUs / wasmUs) });
const round = (x: number) => Math.round(x * 100) / 100;

/** A step's kernels through the Kernels contract: JS on plain arrays, WebAssembly on arena arrays. */
function stepKernels(): void {
  const arena = new StepArena(32 << 20);
  arena.beginStep();
  const wasm = new WasmKernels(arena);
  const setup = (k: Kernels, alloc: (n: number) => Float32Array) => {
    const rowsM = fill(alloc(DISTINCT * D), 1);
    const rowIndex = Int32Array.from({ length: B * L }, (_, i) => (i * 7919) % DISTINCT);
    const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * L);
    const pooled = alloc(B * D);
    const gPooled = fill(alloc(B * D), 2);
    const gRows = alloc(DISTINCT * D);
    const w1 = fill(alloc(H * D), 3);
    const b1 = fill(alloc(H), 4);
    const h = alloc(B * H);
    const gh = fill(alloc(B * H), 5);
    const gx = alloc(B * D);
    const gw = alloc(H * D);
    const gb = alloc(H);
    const hr = alloc(B * H);
    const mask = fill(alloc(B * H), 6);
    const logits = fill(alloc(B * 2), 7);
    const probs = alloc(B * 2);
    const gl = alloc(B * 2);
    const targets = Int32Array.from({ length: B }, (_, i) => i % 2);
    const gathered = alloc(DISTINCT * D);
    const index = Int32Array.from({ length: DISTINCT }, (_, i) => (i * 31) % DISTINCT);
    return {
      'EmbeddingBag mean forward (256 bags × 32)': () => k.bagForward('mean', offsets, rowIndex, null, rowsM, pooled, null, D),
      'EmbeddingBag mean backward': () => k.bagBackward('mean', offsets, rowIndex, null, gPooled, gRows, null, D),
      'Linear forward (256 × 64 → 64)': () => k.linearForward(pooled, w1, b1, h, B, D, H),
      'Linear backward (input + weight)': () => {
        k.linearGradInput(gh, w1, gx, B, D, H);
        k.linearGradWeight(gh, pooled, gw, gb, B, D, H);
      },
      'ReLU forward + backward (256 × 64)': () => {
        k.reluForward(h, hr);
        k.reluBackward(hr, gh, gx);
      },
      'dropout mask apply (256 × 64)': () => k.mul(hr, mask, h),
      'softmax cross-entropy fwd + bwd (256 × 2)': () => {
        k.softmaxCrossEntropy(logits, targets, probs, B, 2);
        k.softmaxCrossEntropyBackward(probs, targets, 1, gl, B, 2);
      },
      'gather rows (3.2k × 64)': () => k.gatherRows(rowsM, index, gathered, D),
      'scatter-add rows (3.2k × 64)': () => k.scatterAddRows(gathered, index, gRows, D, 1),
    } as Record<string, () => void>;
  };
  const js = setup(jsKernels, (n) => new Float32Array(n));
  const wa = setup(wasm, (n) => arena.f32(n));
  let jsTotal = 0;
  let wasmTotal = 0;
  for (const name of Object.keys(js)) {
    const a = timeUs(js[name]);
    const b = timeUs(wa[name]);
    jsTotal += a;
    wasmTotal += b;
    record(name, a, b);
  }
  record("a worker step's kernels, summed", jsTotal, wasmTotal);
}

/** Sparse optimizer updates of 3.2k distinct rows scattered over a 200k-row shard. */
function optimizerKernels(): void {
  const configs = [
    parseSparseOptimizerConfig({ kind: 'sparse_adam', lr: 1e-3 }),
    parseSparseOptimizerConfig({ kind: 'adagrad', lr: 0.1 }),
    parseSparseOptimizerConfig({ kind: 'rowwise_adagrad', lr: 0.1 }),
    parseSparseOptimizerConfig({ kind: 'sgd', lr: 0.1 }),
  ];
  const slots = Int32Array.from({ length: DISTINCT }, (_, i) => (i * 7919) % TABLE_ROWS);
  const grads = fill(new Float32Array(DISTINCT * D), 9);
  for (const config of configs) {
    const opt = sparseRowOptimizer(config, D);
    const stride = Math.max(1, opt.stateFloatsPerRow);
    const weights = fill(new Float32Array(TABLE_ROWS * D), 10);
    const state = new Float32Array(TABLE_ROWS * stride);
    let step = 1;
    const jsRun = () => {
      for (let i = 0; i < DISTINCT; i++) {
        const s = slots[i];
        opt.updateRow(weights, s * D, state, s * stride, grads, i * D, { lr: config.lr, step });
      }
      step++;
    };
    const mem = new KernelMemory();
    const wBase = mem.alloc(TABLE_ROWS * D * 4);
    const sBase = mem.alloc(TABLE_ROWS * stride * 4);
    const offs = mem.alloc(DISTINCT * 8);
    const g = mem.alloc(DISTINCT * D * 4);
    mem.f32(g, DISTINCT * D).set(grads);
    mem.f32(wBase, TABLE_ROWS * D).set(weights);
    const u32 = mem.u32(offs, 2 * DISTINCT);
    for (let i = 0; i < DISTINCT; i++) {
      u32[i] = wBase + slots[i] * D * 4;
      u32[DISTINCT + i] = sBase + slots[i] * stride * 4;
    }
    const sOffs = offs + DISTINCT * 4;
    let wasmStep = 1;
    const wasmRun = () => optimizerRows(mem.exports, config, DISTINCT, D, offs, sOffs, g, { lr: config.lr, step: wasmStep++ });
    record(`${config.kind} update (3.2k rows × 64)`, timeUs(jsRun), timeUs(wasmRun));
  }
}

/** New rows' init on a shard: 1k rows of N(0, 1) at dim 64 and of fastText's uniform at dim 100, drawn into the memory. */
function rowInitKernels(): void {
  for (const [init, dim, label] of [
    [{ kind: 'normal', mean: 0, std: 1 }, 64, 'row init N(0, 1) (1k rows × 64)'],
    [{ kind: 'uniform', a: -0.01, b: 0.01 }, 100, 'row init uniform (1k rows × 100)'],
  ] as const) {
    const table = tableSpec({ name: 'rows', numEmbeddings: 1_000_000, embeddingDim: dim, init });
    const mem = new KernelMemory();
    const js = rowInitializer(table, 1);
    const wasm = rowInitializer(table, 1, kernelRowRandom(mem, dim));
    const at = mem.alloc(1000 * dim * 4) / 4;
    let first = 0;
    const run = (init: typeof js) => () => {
      const heap = mem.heapF32;
      for (let r = 0; r < 1000; r++) init.fill(first + r, 0, heap, at + r * dim);
      first += 1000;
    };
    record(label, timeUs(run(js)), timeUs(run(wasm)));
  }
  // A run of consecutive rows (a model file's untouched rows): JavaScript row by row against
  // the WebAssembly fillRange (uniformRows: eight Philox blocks at a time, across row ends).
  const table = tableSpec({
    name: 'rows',
    numEmbeddings: 1_000_000,
    embeddingDim: 100,
    init: { kind: 'uniform', a: -0.01, b: 0.01 },
  });
  const mem = new KernelMemory();
  const js = rowInitializer(table, 1);
  const wasm = rowInitializer(table, 1, kernelRowRandom(mem, 100));
  const at = mem.alloc(16384 * 100 * 4) / 4;
  let first = 0;
  const rowByRow = () => {
    const heap = mem.heapF32;
    for (let r = 0; r < 16384; r++) js.fill(first + r, 0, heap, at + r * 100);
    first = (first + 16384) % 900_000;
  };
  const range = () => {
    wasm.fillRange(first, 16384, mem.heapF32, at);
    first = (first + 16384) % 900_000;
  };
  record('row init uniform, a run (16k rows × 100)', timeUs(rowByRow), timeUs(range));
}

stepKernels();
optimizerKernels();
rowInitKernels();
if (values.json) process.stdout.write(`${JSON.stringify({ repeats: REPEATS, kernels: rows })}\n`);
else {
  process.stdout.write('rowshard bench:kernels  JavaScript vs WebAssembly SIMD, same process, median µs per call\n');
  for (const r of rows) {
    process.stdout.write(
      `${r.kernel.padEnd(44)} ${r.jsUs.toFixed(1).padStart(9)} µs  ${r.wasmUs.toFixed(1).padStart(8)} µs  ${r.speedup.toFixed(1).padStart(5)}×\n`,
    );
  }
}
