import {
  applySparseGradient,
  createTableState,
  initDenseTable,
  parseSparseOptimizerConfig,
  sparseRowOptimizer,
  tableSpec,
} from '@rowshard/core';
import { KernelMemory } from '@rowshard/kernels';
import { describe, expect, it } from 'vitest';
import { applyPush, gatherRows } from './row-kernels.js';
import { RowStore } from './row-store.js';
import { UpdateUndo } from './update-undo.js';

describe('applyPush', () => {
  const DIM = 6;
  const spec = tableSpec({ name: 'w', numEmbeddings: 40, embeddingDim: DIM, paddingIdx: 0 });
  const grads = (n: number, seed: number) => Float32Array.from({ length: n * DIM }, (_, i) => Math.sin(seed + i));

  // Parts as BSP hands them over: ranks in order, duplicates within and across parts, the padding row among them.
  const cases: [string, Uint32Array[]][] = [
    ['distinct rows, one part (copied straight)', [Uint32Array.of(3, 9, 17)]],
    ['distinct rows over two parts (copied straight)', [Uint32Array.of(3, 9), Uint32Array.of(17, 21)]],
    ['duplicates and the padding row across parts', [Uint32Array.of(3, 0, 9, 3), Uint32Array.of(9, 0, 21, 3)]],
    ['only the padding row', [Uint32Array.of(0, 0)]],
  ];
  for (const kind of ['sparse_adam', 'adagrad', 'sgd'] as const) {
    for (const [name, parts] of cases) {
      it(`${kind}: ${name}, as the reference optimizer on the concatenated gradient`, () => {
        const config = parseSparseOptimizerConfig({ kind, lr: 0.1 });
        const optimizer = sparseRowOptimizer(config, DIM);
        const store = new RowStore(spec, optimizer, 7, 0, 1, new KernelMemory());
        const reference = createTableState(optimizer, initDenseTable(spec, 7));
        const gradParts = parts.map((ids, i) => ({ ids, grads: grads(ids.length, i) }));
        for (let step = 1; step <= 3; step++) {
          const undo = new UpdateUndo();
          const updated = applyPush(store, gradParts, { lr: 0.1, step }, undo);
          undo.release();
          const ids = Float64Array.from(parts.flatMap((p) => [...p]));
          const rows = new Float32Array(ids.length * DIM);
          let at = 0;
          for (const p of gradParts) {
            rows.set(p.grads, at);
            at += p.grads.length;
          }
          expect(updated).toBe(applySparseGradient(optimizer, reference, ids, rows, { lr: 0.1, step }, 0));
        }
        const every = Uint32Array.from({ length: 40 }, (_, i) => i);
        const got = gatherRows(store, every);
        for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(reference.weights[i], 5);
      });
    }
  }
});
