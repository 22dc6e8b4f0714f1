import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { type DraftPlan, writeDraft } from './draft-file.js';
import { reportFileThread } from './file-thread.js';

// The draft is background work beside the job's processes: at the lowest priority it takes the
// CPU they leave idle (a 2-core `supervised` run ended 3% sooner, 4.09 against 4.23 s, median
// of 5 each). What it has not written when training ends, the command's thread writes at its
// own priority (ModelDraft.finish), so a busy machine cannot hold the model back. On Linux a
// nice value belongs to a thread, so this thread alone is lowered; where it would lower the
// whole process, it is left as is.
if (process.platform === 'linux') {
  try {
    setPriority(19);
  } catch {
    // Not permitted here: the draft is written at normal priority.
  }
}

/** The thread behind ModelDraft.start: writes one draft. */
const { path, plan, next } = workerData as { path: string; plan: DraftPlan; next: Int32Array<ArrayBufferLike> };
reportFileThread(() => writeDraft(path, plan, next));
