// Public API of the evaluator: what the CLI and other packages may import.
export * from './adapters/clickhouse.js';
export { PAPER } from './adapters/dashboard/page.js';
export {
  buildDashboardApp,
  type DashboardServer,
  type DashboardServerOptions,
  startDashboardServer,
} from './adapters/dashboard/server.js';
export * from './adapters/migrations.js';
export * from './adapters/run-info.js';
export * from './adapters/sink.js';
export * from './adapters/sql.js';
export * from './config.js';
export * from './core/access.js';
export * from './core/facts.js';
export * from './core/fixtures.js';
export * from './core/metrics/index.js';
export * from './core/run.js';
export * from './service.js';
