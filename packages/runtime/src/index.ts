export * from './config.js';
export * from './logger.js';
export * from './metrics.js';
export * from './ops-server.js';
export * from './redis-keys.js';
export * from './shutdown.js';
export * from './tls.js';
