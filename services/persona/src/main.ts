import type { Server } from 'node:http';
import { DefaultPartitions, type TopicName, Topics } from '@personastream/contracts';
import {
  ConfigError,
  createLogger,
  createRegistry,
  describeKafkaTopics,
  onShutdown,
  startOpsServer,
} from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { parseTenantTokens, startGrpcServer } from './adapters/grpc-server.js';
import { RedisPersonaStore } from './adapters/redis-store.js';
import { loadPersonaConfig } from './config.js';
import type { ModelBackend } from './core/backend.js';
import { createBuiltinBackend } from './core/builtin/backend.js';
import { defaultModelPath, loadModel } from './model-file.js';
import { createOpenAiBackend } from './openai.js';
import { createPersonaService } from './service.js';

async function main(): Promise<void> {
  let cfg: ReturnType<typeof loadPersonaConfig>;
  try {
    cfg = loadPersonaConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('persona', cfg.LOG_LEVEL);
  const registry = createRegistry('persona');
  const stream = createKafkaStream(
    { brokers: cfg.KAFKA_BROKERS, clientId: 'persona', ...cfg.kafkaTopics },
    { logger, registry },
  );
  const store = new RedisPersonaStore({ url: cfg.REDIS_URL, keyPrefix: cfg.PERSONA_REDIS_PREFIX });
  const modelPath = cfg.PERSONA_MODEL_PATH ?? defaultModelPath;
  const builtin = createBuiltinBackend(loadModel(modelPath));
  const backend: ModelBackend =
    cfg.PERSONA_BACKEND === 'openai'
      ? createOpenAiBackend(
          {
            url: cfg.PERSONA_LLM_URL as string,
            model: cfg.PERSONA_LLM_MODEL as string,
            apiKey: cfg.PERSONA_LLM_API_KEY,
            timeoutMs: cfg.PERSONA_LLM_TIMEOUT_MS,
            maxRetries: cfg.PERSONA_LLM_MAX_RETRIES,
            concurrency: cfg.PERSONA_LLM_CONCURRENCY,
            temperature: cfg.PERSONA_LLM_TEMPERATURE,
          },
          builtin,
          registry,
        )
      : builtin;
  logger.info(
    { backend: backend.name, modelPath: cfg.PERSONA_BACKEND === 'builtin' ? modelPath : undefined },
    'backend ready',
  );

  const windowsTopic = cfg.PERSONA_WINDOWS_TOPIC ?? Topics.windows;
  const updatesTopic = cfg.PERSONA_UPDATES_TOPIC ?? Topics.updates;
  const eventsTopic = cfg.PERSONA_EVENTS_TOPIC ?? Topics.events;
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: windowsTopic, partitions: DefaultPartitions[Topics.windows as TopicName] },
    { topic: updatesTopic, partitions: DefaultPartitions[Topics.updates as TopicName] },
    { topic: eventsTopic, partitions: DefaultPartitions[Topics.events as TopicName] },
  ]);
  await admin.close();

  const service = createPersonaService(
    {
      topics: { windows: windowsTopic, updates: updatesTopic, events: eventsTopic },
      groupId: cfg.PERSONA_GROUP_ID,
      samples: cfg.PERSONA_SAMPLES,
      halfLifeDays: cfg.PERSONA_HALF_LIFE_DAYS,
      sensitiveOffTenants: cfg.PERSONA_SENSITIVE_OFF_TENANTS,
      maxWatches: cfg.PERSONA_MAX_WATCHES,
    },
    { stream, store, backend, logger, registry },
  );
  await service.start();
  const grpcServer = await startGrpcServer(service.api, {
    port: cfg.PERSONA_GRPC_PORT,
    host: cfg.PERSONA_GRPC_HOST,
    tokens: parseTenantTokens(cfg.PERSONA_TENANT_TOKENS),
    logger,
    tls: cfg.tls,
  });
  const ops: Server = await startOpsServer(cfg.OPS_PORT, { registry, health: () => service.health() }, cfg.OPS_HOST);
  logger.info(
    { grpcPort: grpcServer.port, opsPort: cfg.OPS_PORT, kafkaTopics: describeKafkaTopics(cfg.kafkaTopics) },
    'persona service started',
  );

  onShutdown(
    logger,
    async () => {
      await grpcServer.close(5000);
      await service.stop();
      await store.close();
      await new Promise<void>((resolve) => ops.close(() => resolve()));
    },
    { deadlineMs: cfg.SHUTDOWN_DEADLINE_MS },
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`persona failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
