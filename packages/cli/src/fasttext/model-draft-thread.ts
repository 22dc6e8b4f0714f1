import { workerData } from 'node:worker_threads';
import { reportFileThread } from './file-thread.js';
import { type DraftPlan, writeDraft } from './model-draft.js';

/** The thread behind ModelDraft.start: writes one draft. */
const { path, plan } = workerData as { path: string; plan: DraftPlan };
reportFileThread(() => writeDraft(path, plan));
