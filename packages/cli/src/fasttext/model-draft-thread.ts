import { workerData } from 'node:worker_threads';
import { type DraftPlan, writeDraft } from './draft-file.js';
import { reportFileThread } from './file-thread.js';

/** The thread behind ModelDraft.start: writes one draft. */
const { path, plan } = workerData as { path: string; plan: DraftPlan };
reportFileThread(() => writeDraft(path, plan));
