import { splitTenantTokens, tenantIdProblem } from '@personastream/contracts';
import {
  ConfigError,
  env,
  type KafkaTopicSettings,
  kafkaTopicEnv,
  kafkaTopicSettings,
  loadServerTls,
  parseEnv,
  type ServerTls,
  serverTlsEnv,
} from '@personastream/runtime';
import { z } from 'zod';

/** A comma-separated list of tenant ids, each checked against the tenant id character set. */
const tenantList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  )
  .superRefine((tenants, ctx) => {
    for (const t of tenants) {
      const problem = tenantIdProblem(t);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `tenant id "${t}" ${problem}` });
    }
  });

/** Env schema of the persona service (variable names are the keys). */
export const personaEnvShape = {
  KAFKA_BROKERS: env.kafkaBrokers,
  /** KAFKA_REPLICATION_FACTOR / KAFKA_MIN_INSYNC_REPLICAS of the topics it creates and uses. */
  ...kafkaTopicEnv,
  REDIS_URL: env.url,
  /** Prefix of every Redis key of the service. */
  PERSONA_REDIS_PREFIX: z.string().min(1).default('ps:persona:'),
  PERSONA_GRPC_PORT: env.port.default(50051),
  /** Address the gRPC server binds to. */
  PERSONA_GRPC_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * PERSONA_TLS_CERT_FILE / PERSONA_TLS_KEY_FILE: PEM certificate chain and key of the gRPC server
   * (both or neither; neither = plaintext). PERSONA_TLS_CLIENT_CA_FILE: also require client
   * certificates this CA signed. Read and checked at start (`loadPersonaConfig`).
   */
  ...serverTlsEnv('PERSONA'),
  PERSONA_BACKEND: z.enum(['builtin', 'openai']).default('builtin'),
  /** Builtin model file; default: the model shipped in services/persona/models. */
  PERSONA_MODEL_PATH: z.string().min(1).optional(),
  PERSONA_HALF_LIFE_DAYS: z.coerce.number().positive().max(3650).default(14),
  PERSONA_SAMPLES: z.coerce.number().int().min(1).max(32).default(1),
  /**
   * `tenant:token,tenant2:token2` — bearer tokens of the gRPC API (hashed at load, never logged).
   * Its format and tenant ids are checked by `loadPersonaConfig` (errors that never echo a token).
   */
  PERSONA_TENANT_TOKENS: z.string().min(1, 'at least one tenant:token pair is required'),
  /** Tenants whose sensitive dimensions are off (never predicted, stored or scored). */
  PERSONA_SENSITIVE_OFF_TENANTS: tenantList,
  PERSONA_GROUP_ID: z.string().min(1).default('persona'),
  PERSONA_WINDOWS_TOPIC: z.string().min(1).optional(),
  PERSONA_UPDATES_TOPIC: z.string().min(1).optional(),
  /** Where `DeletePersona` writes the user's erasure record (the semantizer's input topic). */
  PERSONA_EVENTS_TOPIC: z.string().min(1).optional(),
  PERSONA_MAX_WATCHES: z.coerce.number().int().min(1).default(1000),
  OPS_PORT: env.port.default(9103),
  // 0.0.0.0 in containers, so probes and Prometheus reach it
  OPS_HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: env.logLevel,
  /** How long a graceful stop may take before the process exits 1, ms (below terminationGracePeriodSeconds). */
  SHUTDOWN_DEADLINE_MS: env.shutdownDeadlineMs,
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (required with PERSONA_BACKEND=openai). */
  PERSONA_LLM_URL: z.string().url().optional(),
  PERSONA_LLM_MODEL: z.string().min(1).optional(),
  PERSONA_LLM_API_KEY: z.string().optional(),
  PERSONA_LLM_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  PERSONA_LLM_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  PERSONA_LLM_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(8),
  PERSONA_LLM_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.7),
};

export type PersonaEnv = z.infer<z.ZodObject<typeof personaEnvShape>>;

/** The parsed environment plus the gRPC server's TLS material (undefined: plaintext) and the topic settings. */
export type PersonaConfig = PersonaEnv & { tls: ServerTls | undefined; kafkaTopics: KafkaTopicSettings };

/** Parses and checks the persona service's environment (every bad variable is named). */
export function loadPersonaConfig(source: Record<string, string | undefined> = process.env): PersonaConfig {
  const cfg = parseEnv('persona', personaEnvShape, source);
  const tokens = splitTenantTokens(cfg.PERSONA_TENANT_TOKENS, { requireOne: true });
  if (tokens.problems.length > 0) {
    throw new ConfigError(
      'persona',
      tokens.problems.map((p) => `PERSONA_TENANT_TOKENS: ${p}`),
    );
  }
  if (cfg.PERSONA_BACKEND === 'openai') {
    const missing = (['PERSONA_LLM_URL', 'PERSONA_LLM_MODEL'] as const).filter((k) => !cfg[k]);
    if (missing.length > 0) {
      throw new ConfigError(
        'persona',
        missing.map((k) => `${k}: required when PERSONA_BACKEND=openai (missing)`),
      );
    }
  }
  return {
    ...cfg,
    tls: loadServerTls('persona', 'PERSONA', cfg),
    kafkaTopics: kafkaTopicSettings('persona', cfg),
  };
}
