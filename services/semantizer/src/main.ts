import {
  ConfigError,
  createLogger,
  createRegistry,
  describeKafkaTopics,
  onShutdown,
  startOpsServer,
} from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { RedisCheckpointStore } from './adapters/checkpoints.js';
import { configFromEnv, loadEnv } from './config.js';
import { createSemantizerService } from './service.js';

async function main(): Promise<void> {
  let env: ReturnType<typeof loadEnv>;
  let config: ReturnType<typeof configFromEnv>;
  try {
    env = loadEnv();
    config = configFromEnv(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('semantizer', env.LOG_LEVEL);
  const registry = createRegistry('semantizer');
  const stream = createKafkaStream(
    { brokers: env.KAFKA_BROKERS, clientId: 'semantizer', ...env.kafkaTopics },
    { logger, registry },
  );
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 5, enableOfflineQueue: true });
  redis.on('error', (err) => logger.warn({ err }, 'redis error'));
  const checkpoints = new RedisCheckpointStore(redis, { prefix: env.SEMANTIZER_CHECKPOINT_PREFIX });
  const service = createSemantizerService(config, { stream, checkpoints, logger, registry });
  const ops = await startOpsServer(env.OPS_PORT, { registry, health: () => service.health() }, env.OPS_HOST);
  const address = ops.address();
  logger.info(
    {
      port: typeof address === 'object' && address ? address.port : env.OPS_PORT,
      kafkaTopics: describeKafkaTopics(env.kafkaTopics),
    },
    'ops server listening',
  );
  onShutdown(
    logger,
    async () => {
      await service.stop();
      await checkpoints.close();
      await new Promise<void>((resolve) => ops.close(() => resolve()));
    },
    { deadlineMs: env.SHUTDOWN_DEADLINE_MS },
  );
  await service.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`semantizer failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
