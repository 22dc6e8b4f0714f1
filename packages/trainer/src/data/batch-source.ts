import type { RowIds } from '@rowshard/core';
import type { Batch } from '@rowshard/nn';
import { indexTensor } from '@rowshard/nn';

/**
 * Where a worker's examples come from. Every worker builds the same source and takes its own
 * contiguous slice of global batch t (workerSlice), so data is split across trainers and
 * workers without overlap and without shipping examples around.
 */
export interface BatchSource {
  /** Examples [start, end) of global batch `step` (file sources read asynchronously). */
  slice(step: number, start: number, end: number): Batch | Promise<Batch>;
}

/** Rows [start, end) of a batch whose inputs all lead with the example dimension. */
export function sliceBatch(batch: Batch, start: number, end: number): Batch {
  const inputs = batch.inputs.map((t) => {
    const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = t.data as RowIds & { subarray?: (a: number, b: number) => RowIds };
    const part = data.subarray ? data.subarray(start * per, end * per) : Array.prototype.slice.call(data, start * per, end * per);
    return indexTensor([end - start, ...t.shape.slice(1)], part);
  });
  const target = batch.target as ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> };
  const values = batch.values?.map((v) => {
    const per = v.shape.slice(1).reduce((a, b) => a * b, 1);
    return { shape: [end - start, ...v.shape.slice(1)], data: v.data.subarray(start * per, end * per) };
  });
  return {
    inputs,
    ...(values ? { values } : {}),
    target: target.subarray ? target.subarray(start, end) : Array.prototype.slice.call(target, start, end),
  };
}
