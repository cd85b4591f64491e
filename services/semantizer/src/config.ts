import { readFileSync } from 'node:fs';
import { INTERESTS, TENANT_ID_PATTERN, Topics } from '@personastream/contracts';
import { ConfigError, env, kafkaTopicEnv, kafkaTopicSettings, parseEnv } from '@personastream/runtime';
import { z } from 'zod';
import { normalizeWords, type TaxonomyExtras } from './core/taxonomy.js';
import { type CoreConfig, defaultCoreConfig } from './core/types.js';

/** Topic names the service reads and writes (tests override them). */
export interface SemantizerTopics {
  events: string;
  windows: string;
  dlq: string;
}

/** Configuration of the semantizer service: the core's settings plus where it reads and writes. */
export interface SemantizerConfig extends CoreConfig {
  topics: SemantizerTopics;
  /** Kafka consumer group; also scopes the checkpoints. */
  groupId: string;
  /** Partitions handled concurrently by one instance. */
  concurrency: number;
  /** Bytes of one partition's records per fetch (one batch): bigger batches mean fewer checkpoints and produce round trips. */
  fetchBytesPerPartition: number;
  /**
   * How often (ms) a tick record goes to each held partition with live users: the resolution of
   * processing-time closing and of early windows. 0 = never (live windows then close only on event
   * time, as finite runs do).
   */
  tickMs: number;
}

export const defaultSemantizerConfig: SemantizerConfig = {
  ...defaultCoreConfig,
  topics: { events: Topics.events, windows: Topics.windows, dlq: Topics.eventsDlq },
  groupId: 'semantizer',
  concurrency: 4,
  fetchBytesPerPartition: 4 * 1024 * 1024,
  tickMs: 5_000,
};

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** The semantizer's environment (names are the variables). */
export const semantizerEnv = {
  KAFKA_BROKERS: env.kafkaBrokers,
  /** KAFKA_REPLICATION_FACTOR / KAFKA_MIN_INSYNC_REPLICAS: the least the topics it reads and writes must have. */
  ...kafkaTopicEnv,
  REDIS_URL: env.url,
  SEMANTIZER_GAP_MS: ms(defaultCoreConfig.gapMs),
  SEMANTIZER_MAX_WINDOW_MS: ms(defaultCoreConfig.maxWindowMs),
  SEMANTIZER_LATENESS_MS: z.coerce.number().int().min(0).default(defaultCoreConfig.latenessMs),
  SEMANTIZER_EARLY_EVERY_MS: z.coerce.number().int().min(0).default(defaultCoreConfig.earlyEveryMs),
  SEMANTIZER_MAX_ITEMS: z.coerce.number().int().min(0).max(64).default(defaultCoreConfig.maxItems),
  SEMANTIZER_TICK_MS: z.coerce.number().int().min(0).default(defaultSemantizerConfig.tickMs),
  SEMANTIZER_GROUP_ID: z.string().min(1).default(defaultSemantizerConfig.groupId),
  SEMANTIZER_TOKENIZER: z.enum(['cl100k_base', 'o200k_base', 'none']).default(defaultCoreConfig.tokenizer),
  SEMANTIZER_EVENTS_TOPIC: z.string().min(1).default(Topics.events),
  SEMANTIZER_WINDOWS_TOPIC: z.string().min(1).default(Topics.windows),
  SEMANTIZER_DLQ_TOPIC: z.string().min(1).default(Topics.eventsDlq),
  SEMANTIZER_CHECKPOINT_PREFIX: z.string().default('ps:'),
  /** JSON file of extra taxonomy terms per tenant (see `parseTaxonomyFile`); empty = the built-in vocabulary only. */
  SEMANTIZER_TAXONOMY_FILE: z.string().default(''),
  SEMANTIZER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(defaultSemantizerConfig.concurrency),
  SEMANTIZER_FETCH_BYTES_PER_PARTITION: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .max(256 * 1024 * 1024)
    .default(defaultSemantizerConfig.fetchBytesPerPartition),
  OPS_PORT: env.port.default(9102),
  // 0.0.0.0 in containers, so probes and Prometheus reach it
  OPS_HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: env.logLevel,
  /** How long a graceful stop may take before the process exits 1, ms (below terminationGracePeriodSeconds). */
  SHUTDOWN_DEADLINE_MS: env.shutdownDeadlineMs,
};

export type SemantizerEnv = ReturnType<typeof loadEnv>;

/** Parses the environment; throws `ConfigError` naming each bad variable. */
export function loadEnv(source: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv('semantizer', semantizerEnv, source);
  return { ...parsed, kafkaTopics: kafkaTopicSettings('semantizer', parsed) };
}

const interest = z.enum(INTERESTS);
const term = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (t) => normalizeWords(t).length > 0,
    'a term needs at least one word (letters or digits, not only stop words)',
  )
  .refine((t) => normalizeWords(t).length <= 4, 'a term has at most 4 words');
const interestList = z.array(interest);
const interestWeights = z
  .record(interest, z.number().gt(0).lte(1))
  .refine((o) => Object.keys(o).length > 0, 'no interests (use [] for a general term)');
/** A list of interests or an object of weights, with the issues of the form it has (not a bare "invalid union"). */
const termValue = z.unknown().transform((v, ctx) => {
  const r = Array.isArray(v) ? interestList.safeParse(v) : interestWeights.safeParse(v);
  if (r.success) return r.data as string[] | Record<string, number>;
  for (const i of r.error.issues) ctx.addIssue({ code: z.ZodIssueCode.custom, message: i.message, path: i.path });
  return z.NEVER;
});
/**
 * `SEMANTIZER_TAXONOMY_FILE`: `{"tenants": {"<tenant>": {"<term>": <interests>}}}` where `<interests>`
 * is a list of interest names (weight 1 each; `[]` = a general term that signals no interest) or an
 * object of interest → weight in (0, 1]. A tenant's terms are added to the built-in vocabulary and
 * replace its entry for the same phrase.
 */
export const taxonomyFileSchema = z
  .object({
    tenants: z.record(z.string().regex(TENANT_ID_PATTERN, 'not a tenant id'), z.record(term, termValue)),
  })
  .strict();

/** Parses the taxonomy file's text; a `ConfigError` names the file and every bad entry. */
export function parseTaxonomyFile(text: string, source: string): TaxonomyExtras {
  const where = `SEMANTIZER_TAXONOMY_FILE (${source})`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('semantizer', [`${where}: not JSON: ${(err as Error).message}`]);
  }
  const r = taxonomyFileSchema.safeParse(json);
  if (!r.success) {
    throw new ConfigError(
      'semantizer',
      r.error.issues.map((i) => `${where} ${i.path.map((p) => JSON.stringify(p)).join('.') || '(root)'}: ${i.message}`),
    );
  }
  return r.data.tenants;
}

/** Reads and parses the taxonomy file (once, at start); no file configured: no extra terms. */
export function loadTaxonomyFile(
  path: string,
  read: (p: string) => string = (p) => readFileSync(p, 'utf8'),
): TaxonomyExtras {
  if (path === '') return {};
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new ConfigError('semantizer', [`SEMANTIZER_TAXONOMY_FILE: cannot read ${path}: ${(err as Error).message}`]);
  }
  return parseTaxonomyFile(text, path);
}

/** The service config of a parsed environment (reads `SEMANTIZER_TAXONOMY_FILE`; a `ConfigError` when it is bad). */
export function configFromEnv(e: SemantizerEnv): SemantizerConfig {
  return {
    ...defaultSemantizerConfig,
    taxonomy: loadTaxonomyFile(e.SEMANTIZER_TAXONOMY_FILE),
    gapMs: e.SEMANTIZER_GAP_MS,
    maxWindowMs: e.SEMANTIZER_MAX_WINDOW_MS,
    latenessMs: e.SEMANTIZER_LATENESS_MS,
    earlyEveryMs: e.SEMANTIZER_EARLY_EVERY_MS,
    maxItems: e.SEMANTIZER_MAX_ITEMS,
    tickMs: e.SEMANTIZER_TICK_MS,
    tokenizer: e.SEMANTIZER_TOKENIZER,
    groupId: e.SEMANTIZER_GROUP_ID,
    concurrency: e.SEMANTIZER_CONCURRENCY,
    fetchBytesPerPartition: e.SEMANTIZER_FETCH_BYTES_PER_PARTITION,
    topics: { events: e.SEMANTIZER_EVENTS_TOPIC, windows: e.SEMANTIZER_WINDOWS_TOPIC, dlq: e.SEMANTIZER_DLQ_TOPIC },
  };
}
