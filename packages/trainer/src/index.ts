export * from './ps-client.js';
