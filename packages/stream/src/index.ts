export * from './types.js';
export * from './memory.js';
export * from './kafka.js';
export * from './topics.js';
