import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import {
  type DenseMatrix,
  type FastTextArgs,
  type FileDataSpec,
  fastTextModelHead,
  fastTextModelTail,
  parseDataSpec,
} from '@rowshard/core';
import { resolveJob } from '@rowshard/nn';
import { bundleEntry, userModuleImporter } from '@rowshard/transport/launch';
import type { SavedRows } from '../checkpoint-reader.js';
import type { LoadedConfig } from '../config/load-config.js';
import { type DraftPlan, draftBlocks, FINISHING, NEXT_BLOCK, writeDraftBlocks, writeWhole } from './draft-file.js';
import { runFileThread } from './file-thread.js';

/**
 * A fastText model file begun before training ends. Its head (args and dictionary) and the
 * input matrix's 800 MB of init rows (at fastText's default -bucket) do not depend on
 * training, so a worker thread writes them to `<path>.draft` while the job trains; once the
 * job is done, `finish` writes the rows training touched over their init, appends the output
 * matrix, and moves the draft into place: byte for byte what serializeFastTextModel writes
 * (model-draft.test.ts). It writes in a few hundred milliseconds what took seconds after training.
 * The blocks the thread has not claimed by then, `finish` writes itself (writeDraftBlocks).
 */
export class ModelDraft {
  private readonly draftPath: string;
  /** The next block to claim and whether the draft is being finished, shared with the draft's thread. */
  private readonly next = new Int32Array(new SharedArrayBuffer(8));
  /** Settles when the draft's thread is done: null, or why it could not write. */
  private readonly written: Promise<Error | null>;
  /** Whether finish moved the draft into place. */
  private finished = false;

  private constructor(
    private readonly path: string,
    private readonly plan: DraftPlan,
    inlineBlocks: number | null,
  ) {
    this.draftPath = `${path}.draft`;
    // Made here, so that whichever writer comes first finds it.
    const created = attempt(() => writeFileSync(this.draftPath, new Uint8Array(0)));
    if (created) this.written = Promise.resolve(created);
    else if (inlineBlocks === null) this.written = writeOnThread(this.draftPath, plan, this.next);
    else this.written = Promise.resolve(attempt(() => writeDraftBlocks(this.draftPath, plan, this.next, inlineBlocks)));
  }

  /** Starts writing the draft of `path` on a worker thread. */
  static start(path: string, plan: DraftPlan): ModelDraft {
    return new ModelDraft(path, plan, null);
  }

  /** The same, its first `blocks` blocks (all by default) written on this thread before it returns (tests). */
  static startInline(path: string, plan: DraftPlan, blocks = draftBlocks(plan)): ModelDraft {
    return new ModelDraft(path, plan, blocks);
  }

  /**
   * Completes the model file with the trained rows (`saved`, from the job's checkpoint made with
   * `seed`) and the output matrix; `modelHead` is the head as the model is written after
   * training. Returns false, leaving nothing behind, when the draft cannot be used: it failed
   * (a full disk: the caller's own write then reports it), or its head or table are not the
   * ones training ended with.
   */
  async finish(saved: SavedRows, seed: number, modelHead: Uint8Array, output: DenseMatrix): Promise<boolean> {
    const same =
      JSON.stringify(saved.spec) === JSON.stringify(this.plan.spec) &&
      seed === this.plan.seed &&
      Buffer.from(modelHead).equals(this.plan.modelHead);
    if (!same) {
      await this.abandon();
      return false;
    }
    // The blocks the thread has not claimed (none, once it is done), then its last one: the
    // trained rows go over the init only once every block is in. The flush is this thread's.
    Atomics.store(this.next, FINISHING, 1);
    const leftOver = attempt(() => writeDraftBlocks(this.draftPath, this.plan, this.next));
    if (leftOver) this.stopClaims();
    if ((await this.written) ?? leftOver) {
      this.remove();
      return false;
    }
    const dim = saved.spec.embeddingDim;
    const rowBytes = 4 * dim;
    const rowsStart = this.plan.modelHead.length + 16; // after denseMatrixHead: rows and cols, two int64
    let fd = -1;
    try {
      fd = openSync(this.draftPath, 'r+');
      // The saved rows over their init, runs of consecutive ids in one write each.
      const { ids, rows } = saved;
      const bytes = new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
      for (let i = 0; i < ids.length; ) {
        let end = i + 1;
        while (end < ids.length && ids[end] === ids[end - 1] + 1) end++;
        writeWhole(fd, bytes.subarray(i * rowBytes, end * rowBytes), rowsStart + ids[i] * rowBytes);
        i = end;
      }
      let at = rowsStart + saved.spec.numEmbeddings * rowBytes;
      for (const chunk of fastTextModelTail(output)) at += writeWhole(fd, chunk, at);
      ftruncateSync(fd, at);
      fsyncSync(fd);
      closeSync(fd);
      fd = -1;
      renameSync(this.draftPath, this.path);
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      this.remove();
      throw e;
    }
    this.finished = true;
    return true;
  }

  /**
   * Waits for the draft's thread and removes its file (the job failed, or the draft is not
   * wanted); after finish has put the file in place, nothing.
   */
  async abandon(): Promise<void> {
    Atomics.store(this.next, FINISHING, 1);
    this.stopClaims();
    await this.written;
    if (!this.finished) this.remove();
  }

  /** Leaves the draft's thread nothing more to claim: it ends after the block it is writing. */
  private stopClaims(): void {
    Atomics.store(this.next, NEXT_BLOCK, draftBlocks(this.plan));
  }

  private remove(): void {
    rmSync(this.draftPath, { force: true });
  }
}

/** Runs `write`; returns what it threw, or null. */
function attempt(write: () => void): Error | null {
  try {
    write();
    return null;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

function writeOnThread(path: string, plan: DraftPlan, next: Int32Array<ArrayBufferLike>): Promise<Error | null> {
  return runFileThread(bundleEntry('model-draft-thread') ?? new URL('./model-draft-thread.js', import.meta.url), {
    path,
    plan,
    next,
  }).then(
    () => null,
    (e: Error) => e,
  );
}

/**
 * Starts the draft of a fastText command's model file from what is known before training:
 * the args, the dictionary of the data pass, and the input table as the shards will make it
 * (its spec and the job's seed, resolved as every role resolves the job). Null when the job
 * has no fastText dictionary or no `embedding` table.
 */
export async function startModelDraft(
  modelFile: string,
  loaded: LoadedConfig,
  modelArgs: (data: FileDataSpec) => FastTextArgs,
): Promise<ModelDraft | null> {
  const dict = loaded.fastTextDictionary;
  if (!dict) return null;
  const { job, model } = await resolveJob(loaded.job, userModuleImporter(import.meta.resolve('@rowshard/nn')));
  const spec = model.tables.find((t) => t.name === 'embedding');
  if (!spec) return null;
  const data = parseDataSpec(loaded.job.data, 'data') as FileDataSpec;
  return ModelDraft.start(modelFile, { modelHead: fastTextModelHead(modelArgs(data), dict, false), spec, seed: job.seed });
}
