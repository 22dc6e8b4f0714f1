export * from './args.js';
export * from './data/index.js';
export * from './process.js';
export * from './ps-client.js';
export * from './remote-rows.js';
export * from './step-routing.js';
export * from './worker-loop.js';
export * from './worker-step.js';
