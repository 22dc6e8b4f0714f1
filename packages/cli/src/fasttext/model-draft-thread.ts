import { workerData } from 'node:worker_threads';
import { lowerToBackgroundPriority } from './background-priority.js';
import { type DraftPlan, writeDraft } from './draft-file.js';
import { reportFileThread } from './file-thread.js';

// The draft is background work beside the job's processes: at the lowest priority it takes the
// CPU they leave idle (a 2-core `supervised` run ended 3% sooner than at the default, 4.09
// against 4.23 s, median of 5 each). What it has not written when training ends, the command's
// thread writes at its own priority (ModelDraft.finish), so a busy machine cannot hold the
// model back. Nice 19, not SCHED_IDLE: see background-priority.ts.
lowerToBackgroundPriority();

/** The thread behind ModelDraft.start: writes one draft. */
const { path, plan, next } = workerData as { path: string; plan: DraftPlan; next: Int32Array<ArrayBufferLike> };
reportFileThread(() => writeDraft(path, plan, next));
