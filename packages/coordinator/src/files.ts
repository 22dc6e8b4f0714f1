/**
 * A job's files without the coordinator's server: checkpoints (CheckpointStore, durable
 * writes), the resume check, pretrained tables and the job's identity. The CLI reads and checks
 * these before it starts any process; the package's main entry also loads the server, its
 * metrics (prom-client) and the WebSocket stack.
 */
export * from './checkpoint-store.js';
export * from './durable-file.js';
export * from './job-identity.js';
export * from './pretrained.js';
export * from './pretrained-check.js';
export * from './resume-check.js';
