export * from './config.js';
export * from './logger.js';
export * from './ops-server.js';
export * from './shutdown.js';
export * from './metrics.js';
