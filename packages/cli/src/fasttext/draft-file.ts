import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { denseMatrixHead, type TableSpec } from '@rowshard/core';
import { KernelMemory, kernelRowInitializer } from '@rowshard/kernels';

// The draft's file, apart from ModelDraft (model-draft.ts): the thread that writes it loads
// this module, core and the kernels only (a thread loading the job's resolver and transport
// too started about 70 ms later, on a machine where that is CPU taken from training).

/** Rows drawn and written at a time: 16384 × dim 100 is 6.25 MiB. */
const DRAFT_BLOCK_ROWS = 16384;

/** What a draft is made of: everything of the model file up to the input matrix's last row. */
export interface DraftPlan {
  /** The file's bytes before the input matrix (fastTextModelHead: args, dictionary). */
  readonly modelHead: Uint8Array;
  /** The input table, whose rows the draft holds as their deterministic init. */
  readonly spec: TableSpec;
  readonly seed: number;
}

/**
 * Writes the draft file: the head, then every row of the input table as its deterministic init
 * (what a row training never touches holds in the model file), flushed to the disk. Runs on
 * a worker thread (model-draft-thread.ts) while the job trains.
 */
export function writeDraft(path: string, plan: DraftPlan): void {
  const { spec, seed } = plan;
  const dim = spec.embeddingDim;
  const rows = spec.numEmbeddings;
  // The block lies in the initialiser's WebAssembly memory: the rows are drawn into it many at
  // a time and written from it, never copied (2M rows: about 1.2 s of CPU drawn row by row and
  // copied out, 0.5 s this way).
  const memory = new KernelMemory();
  const init = kernelRowInitializer(spec, seed, memory);
  const blockRows = Math.min(DRAFT_BLOCK_ROWS, rows);
  const blockAt = memory.alloc(4 * blockRows * dim, false);
  const block = memory.f32(blockAt, blockRows * dim);
  const fd = openSync(path, 'w');
  try {
    let at = writeWhole(fd, plan.modelHead, 0);
    at += writeWhole(fd, denseMatrixHead(rows, dim), at);
    for (let first = 0; first < rows; first += DRAFT_BLOCK_ROWS) {
      const count = Math.min(DRAFT_BLOCK_ROWS, rows - first);
      init.fillRange(first, count, block, 0);
      at += writeWhole(fd, new Uint8Array(block.buffer, block.byteOffset, 4 * count * dim), at);
    }
    // On a disk the flush is most of the cost: it happens here, while the job trains.
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeWhole(fd: number, bytes: Uint8Array, position: number): number {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, position + off);
  return bytes.length;
}
