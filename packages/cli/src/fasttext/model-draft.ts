import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync } from 'node:fs';
import {
  type DenseMatrix,
  type FastTextArgs,
  type FileDataSpec,
  fastTextModelHead,
  fastTextModelTail,
  parseDataSpec,
} from '@rowshard/core';
import { resolveJob } from '@rowshard/nn';
import { userModuleImporter } from '@rowshard/transport';
import type { SavedRows } from '../checkpoint-reader.js';
import type { LoadedConfig } from '../config/load-config.js';
import { type DraftPlan, writeDraft, writeWhole } from './draft-file.js';
import { runFileThread } from './file-thread.js';

/**
 * A fastText model file begun before training ends. Its head (args and dictionary) and the
 * input matrix's 800 MB of init rows (at fastText's default -bucket) do not depend on
 * training, so a worker thread writes them to `<path>.draft` while the job trains; once the
 * job is done, `finish` writes the rows training touched over their init, appends the output
 * matrix, and moves the draft into place: byte for byte what serializeFastTextModel writes
 * (model-draft.test.ts). It writes in a few hundred milliseconds what took seconds after training.
 */
export class ModelDraft {
  private readonly draftPath: string;
  /** Settles when the draft is written: null, or why it could not be. */
  private readonly written: Promise<Error | null>;
  /** Whether finish moved the draft into place. */
  private finished = false;

  private constructor(
    private readonly path: string,
    private readonly plan: DraftPlan,
    inline: boolean,
  ) {
    this.draftPath = `${path}.draft`;
    this.written = inline ? writeInline(this.draftPath, plan) : writeOnThread(this.draftPath, plan);
  }

  /** Starts writing the draft of `path` on a worker thread. */
  static start(path: string, plan: DraftPlan): ModelDraft {
    return new ModelDraft(path, plan, false);
  }

  /** The same, written on this thread before it returns (tests). */
  static startInline(path: string, plan: DraftPlan): ModelDraft {
    return new ModelDraft(path, plan, true);
  }

  /**
   * Completes the model file with the trained rows (`saved`, from the job's checkpoint made with
   * `seed`) and the output matrix; `modelHead` is the head as the model is written after
   * training. Returns false, leaving nothing behind, when the draft cannot be used: it failed
   * (a full disk: the caller's own write then reports it), or its head or table are not the
   * ones training ended with.
   */
  async finish(saved: SavedRows, seed: number, modelHead: Uint8Array, output: DenseMatrix): Promise<boolean> {
    const failed = await this.written;
    const same =
      JSON.stringify(saved.spec) === JSON.stringify(this.plan.spec) &&
      seed === this.plan.seed &&
      Buffer.from(modelHead).equals(this.plan.modelHead);
    if (failed || !same) {
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
    await this.written;
    if (!this.finished) this.remove();
  }

  private remove(): void {
    rmSync(this.draftPath, { force: true });
  }
}

async function writeInline(path: string, plan: DraftPlan): Promise<Error | null> {
  try {
    writeDraft(path, plan);
    return null;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

function writeOnThread(path: string, plan: DraftPlan): Promise<Error | null> {
  return runFileThread(new URL('./model-draft-thread.js', import.meta.url), { path, plan }).then(
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
