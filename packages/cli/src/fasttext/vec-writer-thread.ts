import { workerData } from 'node:worker_threads';
import { reportFileThread } from './file-thread.js';
import { type NamedRows, writeNamedRows } from './save-vectors.js';

/** The thread behind writeWordVectorsInBackground: formats and writes one .vec. */
const { path, vectors } = workerData as { path: string; vectors: NamedRows };
reportFileThread(() => writeNamedRows(path, vectors));
