export * from './kafka.js';
export * from './memory.js';
export * from './rewind.js';
export * from './topics.js';
export * from './types.js';
