export * from './baselines.js';
export * from './classification.js';
export * from './compression.js';
export * from './convergence.js';
export * from './labels.js';
export * from './stats.js';
export * from './summary.js';
export * from './tags.js';
