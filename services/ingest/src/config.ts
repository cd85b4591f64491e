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
import { ApiKeyStore } from './core/api-keys.js';
import { runIdProblem } from './core/run-ids.js';

const positiveInt = z.coerce.number().int().positive();
const LINGER_DEFAULT = 0;

/** Env schema of the ingest service (variable names are the keys). */
export const ingestEnvShape = {
  KAFKA_BROKERS: env.kafkaBrokers,
  /** KAFKA_REPLICATION_FACTOR / KAFKA_MIN_INSYNC_REPLICAS of the topics it creates and uses. */
  ...kafkaTopicEnv,
  INGEST_HTTP_PORT: env.port.default(8080),
  /** Address the HTTP API binds to (0.0.0.0 in containers). */
  INGEST_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * INGEST_TLS_CERT_FILE / INGEST_TLS_KEY_FILE: PEM certificate chain and key of the HTTP API (both or
   * neither; neither = plaintext). INGEST_TLS_CLIENT_CA_FILE: also require client certificates this
   * CA signed. Read and checked at start (`loadIngestConfig`). The ops port stays plaintext.
   */
  ...serverTlsEnv('INGEST'),
  /**
   * `tenant:key,tenant:key…` — API keys (a tenant may have several). Hashed at load and never
   * logged; checked outside the schema so that a bad value is never echoed in an error.
   */
  INGEST_API_KEYS: z.string().min(1, 'at least one tenant:key pair is required'),
  /** Sustained events per second per tenant (token-bucket refill rate). */
  INGEST_RATE_PER_S: z.coerce.number().positive().default(50_000),
  /** Events a tenant may send at once (token-bucket size); at least INGEST_MAX_BATCH. */
  INGEST_BURST: positiveInt.default(100_000),
  /** Most events in one request. */
  INGEST_MAX_BATCH: positiveInt.max(10_000).default(500),
  /** Largest request body, bytes. */
  INGEST_MAX_BYTES: positiveInt.default(1_048_576),
  /** Recently accepted event ids remembered per tenant for idempotency. */
  INGEST_DEDUP_IDS: positiveInt.default(200_000),
  /** How long a request waits for Kafka's acknowledgement before answering 503, ms. */
  INGEST_PRODUCE_TIMEOUT_MS: positiveInt.default(10_000),
  /** How long a produce waits for concurrent requests to share its Kafka request, ms (0: same event-loop turn). */
  INGEST_PRODUCE_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(LINGER_DEFAULT),
  /** `Retry-After` of 503 answers, seconds. */
  INGEST_RETRY_AFTER_S: positiveInt.default(5),
  /** Events later than now + this are rejected (`event_time_ms` out_of_range), ms. */
  INGEST_MAX_FUTURE_MS: z.coerce.number().int().min(0).default(86_400_000),
  /** Events earlier than this are rejected, epoch ms (default 1990-01-01). */
  INGEST_MIN_EVENT_TIME_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(Date.UTC(1990, 0, 1)),
  /** Run id of events that carry none (the live run by default); a valid run id (core/run-ids.ts). */
  INGEST_DEFAULT_RUN_ID: z
    .string()
    .default('live')
    .superRefine((v, ctx) => {
      const problem = runIdProblem(v);
      if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `run id ${problem}` });
    }),
  /**
   * Redis shared by the ingest replicas to coordinate finite runs' ends (`redis://host:port`).
   * Unset: one replica, coordinated in this process's memory.
   */
  INGEST_REDIS_URL: env.url.optional(),
  /** Prefix of the coordinator's Redis keys. */
  INGEST_REDIS_PREFIX: z.string().default('ps:ingest:'),
  /** How long a replica's claim on its in-flight sends holds unless renewed (every third of it), ms. */
  INGEST_REPLICA_LEASE_MS: z.coerce.number().int().min(100).default(15_000),
  /** Longest wait of an end of run for the sends of the run still in flight before answering 503, ms. */
  INGEST_END_RUN_TIMEOUT_MS: positiveInt.default(30_000),
  /** How long a finite run's coordination state (ended flag, record counts) is kept after its last use, s. */
  INGEST_RUN_RETENTION_S: positiveInt.default(7 * 86_400),
  /** Topic overrides (default: the contract's topic names). */
  INGEST_EVENTS_TOPIC: z.string().min(1).optional(),
  INGEST_DLQ_TOPIC: z.string().min(1).optional(),
  OPS_PORT: env.port.default(9105),
  // 0.0.0.0 in containers, so probes and Prometheus reach it
  OPS_HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: env.logLevel,
  /** How long a graceful stop may take before the process exits 1, ms (below terminationGracePeriodSeconds). */
  SHUTDOWN_DEADLINE_MS: env.shutdownDeadlineMs,
};

export type IngestEnv = z.infer<z.ZodObject<typeof ingestEnvShape>>;

/** What the HTTP app and the ingest service need (camelCase, no secrets, no addresses). */
export interface IngestAppConfig {
  ratePerS: number;
  burst: number;
  maxBatch: number;
  maxBytes: number;
  dedupCapacity: number;
  produceTimeoutMs: number;
  /** Wait for concurrent requests to share a Kafka produce request, ms. */
  produceLingerMs: number;
  retryAfterS: number;
  maxFutureMs: number;
  minEventTimeMs: number;
  defaultRunId: string;
  /** Replica lease on in-flight sends of finite runs, ms. */
  replicaLeaseMs: number;
  /** Longest wait of an end of run for in-flight sends, ms. */
  endRunTimeoutMs: number;
  /** Retention of a finite run's coordination state after its last use, ms. */
  runRetentionMs: number;
}

export const DEFAULT_APP_CONFIG: IngestAppConfig = {
  ratePerS: 50_000,
  burst: 100_000,
  maxBatch: 500,
  maxBytes: 1_048_576,
  dedupCapacity: 200_000,
  produceTimeoutMs: 10_000,
  produceLingerMs: LINGER_DEFAULT,
  retryAfterS: 5,
  maxFutureMs: 86_400_000,
  minEventTimeMs: Date.UTC(1990, 0, 1),
  defaultRunId: 'live',
  replicaLeaseMs: 15_000,
  endRunTimeoutMs: 30_000,
  runRetentionMs: 7 * 86_400_000,
};

export interface IngestConfig {
  /** The parsed environment, without the plain API keys. */
  env: Omit<IngestEnv, 'INGEST_API_KEYS'>;
  app: IngestAppConfig;
  keys: ApiKeyStore;
  /** The HTTP API's certificate (undefined: plaintext). */
  tls: ServerTls | undefined;
  kafkaTopics: KafkaTopicSettings;
}

/** Parses and checks the ingest environment: every bad variable is named; API keys are never echoed. */
export function loadIngestConfig(source: Record<string, string | undefined> = process.env): IngestConfig {
  const problems: string[] = [];
  let parsed: IngestEnv | undefined;
  try {
    parsed = parseEnv('ingest', ingestEnvShape, source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  // checked even when other variables are bad, so that one run names every problem
  let keys: ApiKeyStore | undefined;
  const spec = source.INGEST_API_KEYS;
  if (spec !== undefined && spec.trim() !== '') {
    try {
      keys = ApiKeyStore.fromSpec(spec);
      if (keys.size === 0) problems.push('INGEST_API_KEYS: at least one tenant:key pair is required');
    } catch (err) {
      problems.push(`INGEST_API_KEYS: ${(err as Error).message.replace(/^INGEST_API_KEYS: /, '')}`);
    }
  } else if (parsed) problems.push('INGEST_API_KEYS: at least one tenant:key pair is required');
  if (parsed && parsed.INGEST_BURST < parsed.INGEST_MAX_BATCH) {
    problems.push(
      `INGEST_BURST: must be at least INGEST_MAX_BATCH (${parsed.INGEST_MAX_BATCH}), or a full batch could never pass (got "${parsed.INGEST_BURST}")`,
    );
  }
  if (parsed && parsed.INGEST_END_RUN_TIMEOUT_MS <= parsed.INGEST_REPLICA_LEASE_MS) {
    problems.push(
      `INGEST_END_RUN_TIMEOUT_MS: must be longer than INGEST_REPLICA_LEASE_MS (${parsed.INGEST_REPLICA_LEASE_MS}), or an end could never outwait the lease of a replica that stopped mid-send (got "${parsed.INGEST_END_RUN_TIMEOUT_MS}")`,
    );
  }
  let tls: ServerTls | undefined;
  let kafkaTopics: KafkaTopicSettings | undefined;
  if (parsed) {
    const env = parsed;
    tls = collect(problems, () => loadServerTls('ingest', 'INGEST', env));
    kafkaTopics = collect(problems, () => kafkaTopicSettings('ingest', env));
  }
  if (problems.length > 0 || !parsed || !keys || !kafkaTopics) throw new ConfigError('ingest', problems);
  const e = parsed;
  const { INGEST_API_KEYS: _secret, ...rest } = e;
  return {
    env: rest,
    keys,
    tls,
    kafkaTopics,
    app: {
      ratePerS: e.INGEST_RATE_PER_S,
      burst: e.INGEST_BURST,
      maxBatch: e.INGEST_MAX_BATCH,
      maxBytes: e.INGEST_MAX_BYTES,
      dedupCapacity: e.INGEST_DEDUP_IDS,
      produceTimeoutMs: e.INGEST_PRODUCE_TIMEOUT_MS,
      produceLingerMs: e.INGEST_PRODUCE_LINGER_MS,
      retryAfterS: e.INGEST_RETRY_AFTER_S,
      maxFutureMs: e.INGEST_MAX_FUTURE_MS,
      minEventTimeMs: e.INGEST_MIN_EVENT_TIME_MS,
      defaultRunId: e.INGEST_DEFAULT_RUN_ID,
      replicaLeaseMs: e.INGEST_REPLICA_LEASE_MS,
      endRunTimeoutMs: e.INGEST_END_RUN_TIMEOUT_MS,
      runRetentionMs: e.INGEST_RUN_RETENTION_S * 1000,
    },
  };
}

/** `read()`, or undefined with its ConfigError's problems added to `problems` (one run names them all). */
function collect<T>(problems: string[], read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
    return undefined;
  }
}
