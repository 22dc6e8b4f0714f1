export * from './fixtures.js';
export * from './processes.js';
export * from './thrown.js';
