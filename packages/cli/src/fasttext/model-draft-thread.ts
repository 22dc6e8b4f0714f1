import { parentPort, workerData } from 'node:worker_threads';
import { type DraftPlan, writeDraft } from './model-draft.js';

/** The thread behind ModelDraft.start: writes one draft, then reports `{}` or `{ error }`. */
const { path, plan } = workerData as { path: string; plan: DraftPlan };
try {
  writeDraft(path, plan);
  parentPort?.postMessage({});
} catch (e) {
  parentPort?.postMessage({ error: e instanceof Error ? e.message : String(e) });
}
