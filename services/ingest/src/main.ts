import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { DefaultPartitions, Topics } from '@personastream/contracts';
import {
  ConfigError,
  createLogger,
  createRegistry,
  describeKafkaTopics,
  onShutdown,
  startOpsServer,
} from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { buildIngestApp } from './adapters/http.js';
import { RedisRunStore } from './adapters/redis-run-store.js';
import { createRunCoordinator, MemoryRunStore } from './adapters/run-coordinator.js';
import { type IngestConfig, loadIngestConfig } from './config.js';

async function main(): Promise<void> {
  let cfg: IngestConfig;
  try {
    cfg = loadIngestConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { env } = cfg;
  const logger = createLogger('ingest', env.LOG_LEVEL);
  const registry = createRegistry('ingest');
  const stream = createKafkaStream(
    { brokers: env.KAFKA_BROKERS, clientId: 'ingest', requestTimeoutMs: cfg.app.produceTimeoutMs, ...cfg.kafkaTopics },
    { logger },
  );
  const topics = { events: env.INGEST_EVENTS_TOPIC ?? Topics.events, dlq: env.INGEST_DLQ_TOPIC ?? Topics.eventsDlq };
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: topics.events, partitions: DefaultPartitions[Topics.events] },
    { topic: topics.dlq, partitions: DefaultPartitions[Topics.eventsDlq] },
  ]);
  const producer = stream.producer();
  // Finite runs' ends across replicas: Redis when configured, else this process alone.
  const replica = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const store = env.INGEST_REDIS_URL
    ? new RedisRunStore({
        url: env.INGEST_REDIS_URL,
        keyPrefix: env.INGEST_REDIS_PREFIX,
        retentionMs: cfg.app.runRetentionMs,
      })
    : new MemoryRunStore({ retentionMs: cfg.app.runRetentionMs });
  const coordinator = createRunCoordinator(store, { replica, leaseMs: cfg.app.replicaLeaseMs, logger });
  const app = buildIngestApp(cfg.app, {
    producer,
    keys: cfg.keys,
    logger,
    registry,
    topics,
    eventPartitions: () => admin.partitionCount(topics.events),
    coordinator,
    tls: cfg.tls,
  });
  await app.listen({ port: env.INGEST_HTTP_PORT, host: env.INGEST_HTTP_HOST });
  const ops: Server = await startOpsServer(env.OPS_PORT, { registry, health: () => true }, env.OPS_HOST);
  logger.info(
    {
      port: env.INGEST_HTTP_PORT,
      host: env.INGEST_HTTP_HOST,
      tls: cfg.tls?.summary ?? 'off (plaintext)',
      opsPort: env.OPS_PORT,
      tenants: cfg.keys.tenants(),
      topics,
      kafkaTopics: describeKafkaTopics(cfg.kafkaTopics),
      replica,
      runCoordinator: env.INGEST_REDIS_URL ? 'redis' : 'memory (one replica)',
    },
    'ingest service started',
  );

  onShutdown(
    logger,
    async () => {
      // stop taking requests, answer the ones in flight (each waits for its Kafka ack), then close
      await app.close();
      await coordinator.close();
      await producer.close();
      await admin.close();
      await new Promise<void>((resolve) => ops.close(() => resolve()));
    },
    { deadlineMs: env.SHUTDOWN_DEADLINE_MS },
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`ingest failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
