export * from './bsp-aggregator.js';
export * from './hashed-index.js';
export * from './ps-config.js';
export * from './ps-node.js';
export * from './ps-server.js';
export * from './ps-service.js';
export * from './request-checks.js';
export * from './row-store.js';
