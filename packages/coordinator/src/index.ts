export * from './coordinator.js';
export * from './dense-state.js';
export * from './initial-state.js';
export * from './membership.js';
export * from './pretrained.js';
export * from './progress.js';
export * from './ssp-clock.js';
export * from './step-barrier.js';
