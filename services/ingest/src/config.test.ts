import { ConfigError } from '@personastream/runtime';
import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from './config.js';

describe('loadIngestConfig', () => {
  it('reads the HTTP TLS files once, naming the variable of a missing half, with the other problems', () => {
    const base = { KAFKA_BROKERS: '127.0.0.1:19092', INGEST_API_KEYS: 'acme:secret-key-123' };
    expect(loadIngestConfig(base).tls).toBeUndefined();
    let problems: string[] = [];
    try {
      loadIngestConfig({
        ...base,
        INGEST_TLS_KEY_FILE: '/nonexistent/key.pem',
        INGEST_MAX_BATCH: '200',
        INGEST_BURST: '100',
      });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^INGEST_BURST: must be at least INGEST_MAX_BATCH/),
      'INGEST_TLS_CERT_FILE: required when INGEST_TLS_KEY_FILE is set (missing)',
    ]);
  });

  it('parses defaults and hashes the keys', () => {
    const c = loadIngestConfig({ KAFKA_BROKERS: '127.0.0.1:19092', INGEST_API_KEYS: 'acme:secret-key-123' });
    expect(c.env.INGEST_HTTP_PORT).toBe(8080);
    expect(c.env.SHUTDOWN_DEADLINE_MS).toBe(25_000);
    expect(c.app).toMatchObject({ maxBatch: 500, maxBytes: 1_048_576, defaultRunId: 'live' });
    expect(c.keys.tenantOf('secret-key-123')).toBe('acme');
    expect(JSON.stringify(c)).not.toContain('secret-key-123');
    expect(c.env.INGEST_REDIS_URL).toBeUndefined();
    expect(c.app).toMatchObject({ replicaLeaseMs: 15_000, endRunTimeoutMs: 30_000, runRetentionMs: 7 * 86_400_000 });
    const r = loadIngestConfig({
      KAFKA_BROKERS: '127.0.0.1:19092',
      INGEST_API_KEYS: 'acme:secret-key-123',
      INGEST_REDIS_URL: 'redis://127.0.0.1:16379',
      INGEST_DEFAULT_RUN_ID: 'replay-7',
    });
    expect(r.env.INGEST_REDIS_URL).toBe('redis://127.0.0.1:16379');
    expect(r.app.defaultRunId).toBe('replay-7');
  });

  it('checks tenant ids of the keys, the default run id and the coordinator settings', () => {
    const base = { KAFKA_BROKERS: 'h:1', INGEST_API_KEYS: 'acme:12345678' };
    const run = (env: Record<string, string>) => {
      try {
        loadIngestConfig({ ...base, ...env });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    const tenant = run({ INGEST_API_KEYS: 'acme:12345678,acme/eu:key-of-eu-tenant' });
    expect(tenant).toMatch(/INGEST_API_KEYS: tenant id "acme\/eu" must start with a letter or digit/);
    expect(tenant).not.toContain('key-of-eu-tenant');
    expect(run({ INGEST_DEFAULT_RUN_ID: '  ' })).toMatch(/INGEST_DEFAULT_RUN_ID: run id is empty or only spaces/);
    expect(run({ INGEST_DEFAULT_RUN_ID: '' })).toMatch(/INGEST_DEFAULT_RUN_ID: run id is empty/);
    expect(run({ INGEST_DEFAULT_RUN_ID: 'a\u0001b' })).toMatch(/INGEST_DEFAULT_RUN_ID: run id contains a control/);
    expect(run({ INGEST_DEFAULT_RUN_ID: 'r'.repeat(257) })).toMatch(/INGEST_DEFAULT_RUN_ID: run id is 257 characters/);
    expect(run({ INGEST_REDIS_URL: 'not a url' })).toContain('INGEST_REDIS_URL');
    expect(run({ INGEST_REPLICA_LEASE_MS: '20000', INGEST_END_RUN_TIMEOUT_MS: '20000' })).toMatch(
      /INGEST_END_RUN_TIMEOUT_MS: must be longer than INGEST_REPLICA_LEASE_MS \(20000\)/,
    );
  });

  it('names bad variables without echoing keys', () => {
    const run = (env: Record<string, string>) => {
      try {
        loadIngestConfig(env);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(run({ INGEST_RATE_PER_S: 'fast' })).toMatch(/KAFKA_BROKERS[\s\S]*INGEST_API_KEYS[\s\S]*INGEST_RATE_PER_S/);
    const bad = run({ KAFKA_BROKERS: 'h:1', INGEST_API_KEYS: 'acme-topsecret-without-colon' });
    expect(bad).toContain('INGEST_API_KEYS');
    expect(bad).not.toContain('topsecret');
    expect(run({ KAFKA_BROKERS: 'h:1', INGEST_API_KEYS: 'a:12345678', INGEST_BURST: '10' })).toContain('INGEST_BURST');
    expect(run({ KAFKA_BROKERS: 'h:1', INGEST_API_KEYS: 'a:12345678', SHUTDOWN_DEADLINE_MS: 'abc' })).toMatch(
      /SHUTDOWN_DEADLINE_MS: .*"abc"/,
    );
    expect(run({ KAFKA_BROKERS: 'h:1', INGEST_API_KEYS: '  ' })).toContain('INGEST_API_KEYS: at least one');
    // every problem in one message, the key never echoed
    const both = run({ KAFKA_BROKERS: 'nope', INGEST_API_KEYS: 'secret-without-colon' });
    expect(both).toMatch(/KAFKA_BROKERS[\s\S]*INGEST_API_KEYS/);
    expect(both).not.toContain('secret-without-colon');
  });
});
