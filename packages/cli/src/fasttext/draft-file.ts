import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { denseMatrixHead, type TableSpec } from '@rowshard/core';
import { KernelMemory, kernelRowInitializer } from '@rowshard/kernels';

// The draft's file, apart from ModelDraft (model-draft.ts): the thread that writes it loads
// this module, core and the kernels only (a thread loading the job's resolver and transport
// too started about 70 ms later, on a machine where that is CPU taken from training).

/**
 * Rows drawn and written at a time: 1024 × dim 100 is 400 KiB, about a millisecond's work.
 * `finish` waits for the block the draft's thread is writing, and that thread runs at nice
 * 19, so on a busy machine a small block bounds the wait. 16384 rows were no
 * faster: 0.65–0.73 s for 2M rows alone on a core at either size, and whole runs beside two
 * busy loops took the same time (5.24 against 5.20 s, median of 8).
 */
const DRAFT_BLOCK_ROWS = 1024;

/** What a draft is made of: everything of the model file up to the input matrix's last row. */
export interface DraftPlan {
  /** The file's bytes before the input matrix (fastTextModelHead: args, dictionary). */
  readonly modelHead: Uint8Array;
  /** The input table, whose rows the draft holds as their deterministic init. */
  readonly spec: TableSpec;
  readonly seed: number;
}

/** Slots of the counter a draft's writers share: the next block to claim, and whether the draft is being finished. */
export const NEXT_BLOCK = 0;
export const FINISHING = 1;

/** The draft's blocks of DRAFT_BLOCK_ROWS rows (the first also carries the head): the units its writers claim. */
export function draftBlocks(plan: DraftPlan): number {
  return Math.max(1, Math.ceil(plan.spec.numEmbeddings / DRAFT_BLOCK_ROWS));
}

/**
 * Writes the blocks of the draft file (which exists) that no other writer has claimed: the
 * head with block 0, then every row of the input table as its deterministic init (what a row
 * training never touches holds in the model file). Each block is claimed through `next`, a
 * counter shared with the other writers (its NEXT_BLOCK slot): the draft's thread writes while
 * the job trains, and the command's own thread takes what is left once training is over
 * (ModelDraft.finish), so a draft thread held back by a busy machine delays the model by one
 * block at most. `until` stops claiming before that block (tests: a writer cut short).
 */
export function writeDraftBlocks(
  path: string,
  plan: DraftPlan,
  next: Int32Array<ArrayBufferLike>,
  until = draftBlocks(plan),
): void {
  const { spec, seed } = plan;
  const dim = spec.embeddingDim;
  const rows = spec.numEmbeddings;
  if (Atomics.load(next, NEXT_BLOCK) >= until) return;
  // The block lies in the initialiser's WebAssembly memory: the rows are drawn into it many at
  // a time and written from it, never copied (a draft of 2M rows: 1.2 s of CPU drawn row by row
  // and copied out, 0.75 s this way, the writes included).
  const memory = new KernelMemory();
  const init = kernelRowInitializer(spec, seed, memory);
  const blockRows = Math.min(DRAFT_BLOCK_ROWS, rows);
  const blockAt = memory.alloc(4 * blockRows * dim, false);
  const block = memory.f32(blockAt, blockRows * dim);
  const rowsStart = plan.modelHead.length + 16; // after denseMatrixHead: rows and cols, two int64
  const fd = openSync(path, 'r+');
  try {
    for (;;) {
      const b = Atomics.load(next, NEXT_BLOCK);
      if (b >= until) break;
      if (Atomics.compareExchange(next, NEXT_BLOCK, b, b + 1) !== b) continue; // another writer took it
      if (b === 0) {
        writeWhole(fd, plan.modelHead, 0);
        writeWhole(fd, denseMatrixHead(rows, dim), plan.modelHead.length);
      }
      const first = b * DRAFT_BLOCK_ROWS;
      const count = Math.min(DRAFT_BLOCK_ROWS, rows - first);
      if (count <= 0) continue;
      init.fillRange(first, count, block, 0);
      writeWhole(fd, new Uint8Array(block.buffer, block.byteOffset, 4 * count * dim), rowsStart + 4 * first * dim);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The draft's thread: the blocks it can claim (`shared`: NEXT_BLOCK and FINISHING), then the
 * file flushed to the disk, unless the draft is being finished (ModelDraft.finish flushes it,
 * and should not wait for this thread's flush).
 */
export function writeDraft(path: string, plan: DraftPlan, shared: Int32Array<ArrayBufferLike>): void {
  writeDraftBlocks(path, plan, shared);
  if (Atomics.load(shared, FINISHING) !== 0) return;
  // On a disk the flush is most of the cost: it happens here, while the job trains.
  const fd = openSync(path, 'r+');
  try {
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
