/** The evaluator's environment, validated once at start (errors name every bad variable). */
import { env, kafkaTopicEnv, kafkaTopicSettings, loadServerTls, parseEnv, serverTlsEnv } from '@personastream/runtime';
import { z } from 'zod';

export const evaluatorEnvShape = {
  KAFKA_BROKERS: env.kafkaBrokers,
  /** KAFKA_REPLICATION_FACTOR / KAFKA_MIN_INSYNC_REPLICAS: the least the topics it reads must have. */
  ...kafkaTopicEnv,
  CLICKHOUSE_URL: env.url,
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a database name ([A-Za-z_][A-Za-z0-9_]*)')
    .default('personastream'),
  EVALUATOR_HTTP_PORT: env.port.default(8081),
  EVALUATOR_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * EVALUATOR_TLS_CERT_FILE / EVALUATOR_TLS_KEY_FILE: PEM certificate chain and key of the HTTP port
   * (dashboard, API, /healthz, /metrics; both or neither; neither = plaintext).
   * EVALUATOR_TLS_CLIENT_CA_FILE: also require client certificates this CA signed (probes and
   * Prometheus then need one too). Read and checked at start (`loadEvaluatorConfig`).
   */
  ...serverTlsEnv('EVALUATOR'),
  EVALUATOR_GROUP_ID: z.string().min(1).default('evaluator'),
  EVALUATOR_SCORE_ALL_USERS: env.bool.default('false'),
  EVALUATOR_INCLUDE_SENSITIVE: env.bool.default('false'),
  EVALUATOR_UPDATES_TOPIC: z.string().min(1).optional(),
  EVALUATOR_TRUTH_TOPIC: z.string().min(1).optional(),
  LOG_LEVEL: env.logLevel,
  /** How long a graceful stop may take before the process exits 1, ms (below terminationGracePeriodSeconds). */
  SHUTDOWN_DEADLINE_MS: env.shutdownDeadlineMs,
};

export type EvaluatorEnv = ReturnType<typeof loadEvaluatorConfig>;

/** Parses the environment and reads the TLS files; a `ConfigError` names every bad variable. */
export function loadEvaluatorConfig(source: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv('evaluator', evaluatorEnvShape, source);
  return {
    ...parsed,
    tls: loadServerTls('evaluator', 'EVALUATOR', parsed),
    kafkaTopics: kafkaTopicSettings('evaluator', parsed),
  };
}
