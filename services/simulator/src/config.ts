import { env, kafkaTopicEnv, kafkaTopicSettings, parseEnv } from '@personastream/runtime';
import { z } from 'zod';

/**
 * Environment of the simulator service (a batch Job: publishes one run, then exits). Every variable
 * is checked at start; an error names each bad one.
 */
export const simulatorEnv = {
  /** Comma-separated Kafka brokers (host:port). */
  KAFKA_BROKERS: env.kafkaBrokers,
  /** KAFKA_REPLICATION_FACTOR / KAFKA_MIN_INSYNC_REPLICAS: the least the topics it writes must have. */
  ...kafkaTopicEnv,
  /** Number of users to simulate. */
  SIM_USERS: z.coerce.number().int().min(1).max(50_000_000).default(200),
  /** Seed of the run. */
  SIM_SEED: z.coerce.number().int().min(0).max(0xffffffff).default(1),
  /** Tenant of the events. */
  SIM_TENANT: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1–64 characters [A-Za-z0-9_.-]')
    .default('demo'),
  /** Run id (default sim-s<seed>-u<users>). */
  SIM_RUN_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected 1–128 characters [A-Za-z0-9_.:-]')
    .optional(),
  /** Real-time pacing factor (0 = full speed). */
  SIM_SPEEDUP: z.coerce.number().min(0).max(1e9).default(0),
  /** Port of /healthz and /metrics (0 = any free port). */
  OPS_PORT: env.port.default(0),
  // 0.0.0.0 in containers, so probes and Prometheus reach it
  OPS_HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: env.logLevel,
  /** How long a graceful stop may take before the process exits 1, ms (below terminationGracePeriodSeconds). */
  SHUTDOWN_DEADLINE_MS: env.shutdownDeadlineMs,
};

export type SimulatorEnv = ReturnType<typeof loadSimulatorEnv>;

export function loadSimulatorEnv(source: Record<string, string | undefined> = process.env) {
  const parsed = parseEnv('simulator', simulatorEnv, source);
  return { ...parsed, kafkaTopics: kafkaTopicSettings('simulator', parsed) };
}
