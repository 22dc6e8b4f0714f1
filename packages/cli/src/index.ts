export * from './checkpoint-reader.js';
export * from './launcher/cluster-parity.js';
export * from './launcher/local-cluster.js';
