export * from './kafka.js';
export * from './memory.js';
export * from './topics.js';
export * from './types.js';
