/** The evaluator's environment, validated once at start (errors name every bad variable). */
import {
  ConfigError,
  env,
  kafkaTopicEnv,
  kafkaTopicSettings,
  loadServerTls,
  parseEnv,
  serverTlsEnv,
} from '@personastream/runtime';
import { z } from 'zod';
import { AccessTokens } from './core/access.js';

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
   * `tenant:token,tenant:token…` — bearer tokens of the HTTP API; a tenant token reads and writes
   * its own tenant's data only. Hashed at load and never logged; checked outside the schema (by
   * `AccessTokens.parse`) so that an error never echoes a token. This or the admin token is required.
   */
  EVALUATOR_TENANT_TOKENS: z.string().optional(),
  /** Bearer token that reads every tenant's data and writes every run's facts (operators). Optional. */
  EVALUATOR_ADMIN_TOKEN: z.string().optional(),
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

type ParsedEnv = z.infer<z.ZodObject<typeof evaluatorEnvShape>>;

/** The parsed environment without the plain tokens, the tokens as a lookup, TLS files and topic settings. */
export type EvaluatorEnv = Omit<ParsedEnv, 'EVALUATOR_TENANT_TOKENS' | 'EVALUATOR_ADMIN_TOKEN'> & {
  access: AccessTokens;
  tls: ReturnType<typeof loadServerTls>;
  kafkaTopics: ReturnType<typeof kafkaTopicSettings>;
};

/**
 * Parses and checks the evaluator's environment and reads the TLS files: every bad variable is named;
 * tokens are never echoed.
 */
export function loadEvaluatorConfig(source: Record<string, string | undefined> = process.env): EvaluatorEnv {
  const problems: string[] = [];
  let parsed: ParsedEnv | undefined;
  try {
    parsed = parseEnv('evaluator', evaluatorEnvShape, source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  // checked even when other variables are bad, so that one run names every problem
  const access = AccessTokens.parse({
    tenantTokens: source.EVALUATOR_TENANT_TOKENS,
    adminToken: source.EVALUATOR_ADMIN_TOKEN,
  });
  problems.push(...access.problems);
  if (problems.length > 0 || !parsed || !access.tokens) throw new ConfigError('evaluator', problems);
  const { EVALUATOR_TENANT_TOKENS: _tokens, EVALUATOR_ADMIN_TOKEN: _admin, ...rest } = parsed;
  return {
    ...rest,
    access: access.tokens,
    tls: loadServerTls('evaluator', 'EVALUATOR', parsed),
    kafkaTopics: kafkaTopicSettings('evaluator', parsed),
  };
}
