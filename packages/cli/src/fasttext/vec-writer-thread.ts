import { parentPort, workerData } from 'node:worker_threads';
import { type NamedRows, writeNamedRows } from './save-vectors.js';

/**
 * The thread behind writeWordVectorsInBackground: formats and writes one .vec, then reports
 * `{}` or `{ error, code }` (an I/O error, say) to the thread that started it.
 */
const { path, vectors } = workerData as { path: string; vectors: NamedRows };
try {
  writeNamedRows(path, vectors);
  parentPort?.postMessage({});
} catch (e) {
  // The system error's code too (ENOSPC, EACCES): the command line reports those as the user's to fix.
  const { message, code } = e instanceof Error ? (e as NodeJS.ErrnoException) : { message: String(e), code: undefined };
  parentPort?.postMessage({ error: message, ...(typeof code === 'string' ? { code } : {}) });
}
