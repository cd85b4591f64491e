/**
 * The evaluator process: Kafka consumer + ClickHouse (migrations applied at start) + one HTTP port
 * serving the dashboard, its JSON API, /healthz and /metrics. SIGTERM: stop consuming (the in-flight
 * batch finishes and commits), close the HTTP server, exit.
 */
import { createLogger, createRegistry, describeKafkaTopics, onShutdown } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { ClickHouseClient } from './adapters/clickhouse.js';
import { startDashboardServer } from './adapters/dashboard/server.js';
import { applyMigrations } from './adapters/migrations.js';
import { RunFactsStore } from './adapters/run-info.js';
import { ClickHouseScoreSink } from './adapters/sink.js';
import { loadEvaluatorConfig } from './config.js';
import { createEvaluatorService } from './service.js';

async function main(): Promise<void> {
  const config = loadEvaluatorConfig();
  const logger = createLogger('evaluator', config.LOG_LEVEL);
  const registry = createRegistry('evaluator');

  const clickhouse = new ClickHouseClient({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE });
  const migrations = await applyMigrations(clickhouse, { log: (m) => logger.info(m) });
  logger.info({ database: migrations.database, applied: migrations.applied }, 'ClickHouse schema ready');
  const sink = new ClickHouseScoreSink(clickhouse);

  // durable in ClickHouse: a restart between a run's facts and its end keeps them
  const facts = new RunFactsStore(1000, clickhouse);
  const stream = createKafkaStream(
    { brokers: config.KAFKA_BROKERS, clientId: 'evaluator', ...config.kafkaTopics },
    { logger, registry },
  );
  const service = createEvaluatorService(
    {
      groupId: config.EVALUATOR_GROUP_ID,
      scoreAllUsers: config.EVALUATOR_SCORE_ALL_USERS,
      includeSensitive: config.EVALUATOR_INCLUDE_SENSITIVE,
      stack: 'local',
      topics: {
        ...(config.EVALUATOR_UPDATES_TOPIC ? { updates: config.EVALUATOR_UPDATES_TOPIC } : {}),
        ...(config.EVALUATOR_TRUTH_TOPIC ? { truth: config.EVALUATOR_TRUTH_TOPIC } : {}),
      },
    },
    {
      stream,
      sink,
      logger,
      registry,
      runInfo: (tenant, runId) => facts.info(tenant, runId),
      baselines: (tenant, runId) => facts.baselines(tenant, runId),
    },
  );
  const http = await startDashboardServer({
    sink,
    access: config.access,
    port: config.EVALUATOR_HTTP_PORT,
    host: config.EVALUATOR_HTTP_HOST,
    registry,
    health: () => service.health(),
    facts,
    waitForRun: (tenant, runId, timeoutMs) => service.waitForRun(tenant, runId, timeoutMs),
    tls: config.tls,
  });
  await service.start();
  logger.info(
    {
      dashboard: http.url,
      tls: config.tls?.summary ?? 'off (plaintext)',
      kafkaTopics: describeKafkaTopics(config.kafkaTopics),
    },
    'evaluator ready',
  );

  onShutdown(
    logger,
    async () => {
      await service.stop();
      await http.close();
    },
    { deadlineMs: config.SHUTDOWN_DEADLINE_MS },
  );
}

main().catch((err: unknown) => {
  // configuration and startup errors: one clear line, non-zero exit
  process.stderr.write(`evaluator failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
