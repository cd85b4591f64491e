import { z } from 'zod';
import { MAX_SHUTDOWN_DEADLINE_MS } from './shutdown.js';

/** Thrown when the environment does not satisfy a service's config schema; names every bad variable. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration for ${service}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once into a typed config slice. Schema keys are the env var names;
 * on failure the error lists each variable with what is wrong.
 */
export function parseEnv<S extends z.ZodRawShape>(
  service: string,
  shape: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    return `${name}: ${issue.message} (${shownValue(name, env[name])})`;
  });
  throw new ConfigError(service, problems);
}

/** Variables whose values are secrets: named for keys, tokens, secrets, passwords or credentials. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSW|CREDENTIAL/i;

/**
 * A bad value as a config error shows it — errors reach logs, so never a secret: a secret-named
 * variable's value is hidden, and credentials in a URL (`scheme://user:password@host`) are masked.
 */
export function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return 'missing';
  if (SECRET_NAME.test(name)) return `value hidden, ${value.length} characters`;
  const masked = value.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
  return `got "${masked.length > 60 ? `${masked.slice(0, 60)}…` : masked}"`;
}

/** Common env fields. */
export const env = {
  /** Comma-separated Kafka brokers, e.g. 127.0.0.1:9092. */
  kafkaBrokers: z
    .string()
    .min(1)
    .transform((s) => s.split(',').map((b) => b.trim()))
    .refine((bs) => bs.every((b) => /^[^:\s]+:\d+$/.test(b)), 'expected host:port[,host:port…]'),
  port: z.coerce.number().int().min(0).max(65535),
  url: z.string().url(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  bool: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
  /**
   * SHUTDOWN_DEADLINE_MS: how long a graceful stop may take before the process exits 1 (see
   * `onShutdown`). Keep it below Kubernetes' terminationGracePeriodSeconds (k8s/base: 45 s; default 30 s).
   */
  shutdownDeadlineMs: z.coerce.number().int().positive().max(MAX_SHUTDOWN_DEADLINE_MS).default(25_000),
};

/**
 * Replication of the Kafka topics a service creates, and the least it accepts of the topics it
 * uses (`kafkaTopicSettings`). The defaults are the single-broker dev settings; the prod overlay sets
 * 3 and 2, so a service there neither creates nor runs against a topic with fewer replicas.
 */
export const kafkaTopicEnv = {
  /** Replication factor of the topics the service creates; a topic it uses with fewer replicas stops it at start. */
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(16).default(1),
  /**
   * `min.insync.replicas` of the topics the service creates, and the least a topic it uses may have;
   * unset: the broker's default, not checked.
   */
  KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(16).optional(),
};

/** What the Kafka adapter needs of `kafkaTopicEnv` (see `KafkaStreamConfig`). */
export interface KafkaTopicSettings {
  replicationFactor: number;
  minInsyncReplicas?: number;
}

/** The topic settings of a parsed `kafkaTopicEnv`; a `ConfigError` when the min ISR exceeds the replication factor. */
export function kafkaTopicSettings(
  service: string,
  parsed: { KAFKA_REPLICATION_FACTOR: number; KAFKA_MIN_INSYNC_REPLICAS?: number | undefined },
): KafkaTopicSettings {
  const rf = parsed.KAFKA_REPLICATION_FACTOR;
  const minIsr = parsed.KAFKA_MIN_INSYNC_REPLICAS;
  if (minIsr !== undefined && minIsr > rf) {
    throw new ConfigError(service, [
      `KAFKA_MIN_INSYNC_REPLICAS: must not exceed KAFKA_REPLICATION_FACTOR (${rf}), or no write with acks=all could succeed (got "${minIsr}")`,
    ]);
  }
  return { replicationFactor: rf, ...(minIsr !== undefined ? { minInsyncReplicas: minIsr } : {}) };
}

/** How the startup log states the topic settings (the dev stack's single-broker settings included). */
export function describeKafkaTopics(settings: KafkaTopicSettings): {
  replicationFactor: number;
  minInsyncReplicas: number | 'broker default';
} {
  return {
    replicationFactor: settings.replicationFactor,
    minInsyncReplicas: settings.minInsyncReplicas ?? 'broker default',
  };
}
