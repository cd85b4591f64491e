import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, kafkaTopicEnv, kafkaTopicSettings, parseEnv } from './config.js';

const shape = { KAFKA_BROKERS: env.kafkaBrokers, OPS_PORT: env.port.default(9100), LOG_LEVEL: env.logLevel };

describe('parseEnv', () => {
  it('parses a valid environment into a typed slice', () => {
    const cfg = parseEnv('svc', shape, { KAFKA_BROKERS: '127.0.0.1:19092, 127.0.0.1:19093', OPS_PORT: '9200' });
    expect(cfg).toEqual({ KAFKA_BROKERS: ['127.0.0.1:19092', '127.0.0.1:19093'], OPS_PORT: 9200, LOG_LEVEL: 'info' });
  });

  it('names every missing or bad variable', () => {
    let error: unknown;
    try {
      parseEnv('svc', { ...shape, MODE: z.enum(['a', 'b']) }, { OPS_PORT: 'ninety', MODE: 'c' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('invalid configuration for svc');
    expect(message).toMatch(/KAFKA_BROKERS: .*missing/);
    expect(message).toMatch(/OPS_PORT: .*"ninety"/);
    expect(message).toMatch(/MODE: .*"c"/);
  });

  it('never shows a secret in its errors: secret-named values hidden, URL credentials masked', () => {
    const secretShape = {
      INGEST_API_KEYS: z.string().regex(/^[a-z]+:[a-z]+$/),
      PERSONA_LLM_API_KEY: z.string().min(40),
      REDIS_URL: z.string().url().startsWith('rediss:'),
    };
    let message = '';
    try {
      parseEnv('svc', secretShape, {
        INGEST_API_KEYS: 'acme:Sup3r-Secret!',
        PERSONA_LLM_API_KEY: 'sk-short-secret',
        REDIS_URL: 'redis://default:hunter2pass@10.0.0.5:6379/0',
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/INGEST_API_KEYS: .*value hidden, 18 characters/);
    expect(message).toMatch(/PERSONA_LLM_API_KEY: .*value hidden/);
    expect(message).toMatch(/REDIS_URL: .*"redis:\/\/\*\*\*@10\.0\.0\.5:6379\/0"/);
    for (const secret of ['Sup3r-Secret', 'sk-short-secret', 'hunter2pass']) expect(message).not.toContain(secret);
  });

  it('rejects brokers without a port', () => {
    expect(() => parseEnv('svc', shape, { KAFKA_BROKERS: 'localhost' })).toThrow(/KAFKA_BROKERS: expected host:port/);
  });

  it('defaults SHUTDOWN_DEADLINE_MS to 25 s and names a bad value', () => {
    const deadline = { SHUTDOWN_DEADLINE_MS: env.shutdownDeadlineMs };
    expect(parseEnv('svc', deadline, {})).toEqual({ SHUTDOWN_DEADLINE_MS: 25_000 });
    expect(parseEnv('svc', deadline, { SHUTDOWN_DEADLINE_MS: '40000' })).toEqual({ SHUTDOWN_DEADLINE_MS: 40_000 });
    for (const bad of ['0', '-5', 'abc', '1.5', '2147483648']) {
      expect(() => parseEnv('svc', deadline, { SHUTDOWN_DEADLINE_MS: bad })).toThrow(
        new RegExp(`SHUTDOWN_DEADLINE_MS: .*"${bad}"`),
      );
    }
  });
});

describe('kafkaTopicEnv / kafkaTopicSettings', () => {
  const load = (source: Record<string, string>) => kafkaTopicSettings('svc', parseEnv('svc', kafkaTopicEnv, source));

  it('defaults to the single-broker dev settings: replication factor 1, the broker default min ISR', () => {
    expect(load({})).toEqual({ replicationFactor: 1 });
  });

  it('takes the production settings (replication factor 3, min.insync.replicas 2)', () => {
    expect(load({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' })).toEqual({
      replicationFactor: 3,
      minInsyncReplicas: 2,
    });
  });

  it('names a bad value, and a min ISR that no write could ever reach', () => {
    expect(() => load({ KAFKA_REPLICATION_FACTOR: '0' })).toThrow(/KAFKA_REPLICATION_FACTOR: .*\(got "0"\)/);
    expect(() => load({ KAFKA_REPLICATION_FACTOR: 'three' })).toThrow(/KAFKA_REPLICATION_FACTOR/);
    expect(() => load({ KAFKA_MIN_INSYNC_REPLICAS: '2' })).toThrow(ConfigError);
    expect(() => load({ KAFKA_MIN_INSYNC_REPLICAS: '2' })).toThrow(
      'KAFKA_MIN_INSYNC_REPLICAS: must not exceed KAFKA_REPLICATION_FACTOR (1), or no write with acks=all could succeed (got "2")',
    );
  });
});
