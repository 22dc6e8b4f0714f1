export * from './checkpoint-reader.js';
export * from './launcher/cluster-parity.js';
export * from './launcher/local-cluster.js';
export * from './launcher/role-process.js';
export * from './launcher/role-standby.js';
