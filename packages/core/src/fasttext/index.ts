export * from './args.js';
export * from './cpp-format.js';
export * from './dictionary.js';
export * from './hash.js';
export * from './stl-algorithms.js';
export * from './tokens.js';
