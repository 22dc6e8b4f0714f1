export * from './auth.js';
export * from './client.js';
export * from './codec.js';
export * from './lifecycle.js';
export * from './options.js';
export * from './process-args.js';
export * from './server.js';
export * from './step-barrier.js';
