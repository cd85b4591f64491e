import type { Server } from 'node:http';
import { DefaultPartitions, Topics } from '@personastream/contracts';
import { ConfigError, createLogger, createRegistry, onShutdown, startOpsServer } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { buildIngestApp } from './adapters/http.js';
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
    { brokers: env.KAFKA_BROKERS, clientId: 'ingest', requestTimeoutMs: cfg.app.produceTimeoutMs },
    { logger },
  );
  const topics = { events: env.INGEST_EVENTS_TOPIC ?? Topics.events, dlq: env.INGEST_DLQ_TOPIC ?? Topics.eventsDlq };
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: topics.events, partitions: DefaultPartitions[Topics.events] },
    { topic: topics.dlq, partitions: DefaultPartitions[Topics.eventsDlq] },
  ]);
  const producer = stream.producer();
  const app = buildIngestApp(cfg.app, {
    producer,
    keys: cfg.keys,
    logger,
    registry,
    topics,
    eventPartitions: () => admin.partitionCount(topics.events),
  });
  await app.listen({ port: env.INGEST_HTTP_PORT, host: env.INGEST_HTTP_HOST });
  const ops: Server = await startOpsServer(env.OPS_PORT, { registry, health: () => true }, env.OPS_HOST);
  logger.info(
    {
      port: env.INGEST_HTTP_PORT,
      host: env.INGEST_HTTP_HOST,
      opsPort: env.OPS_PORT,
      tenants: cfg.keys.tenants(),
      topics,
    },
    'ingest service started',
  );

  onShutdown(
    logger,
    async () => {
      // stop taking requests, answer the ones in flight (each waits for its Kafka ack), then close
      await app.close();
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
