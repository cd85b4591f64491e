import { describe, expect, it } from 'vitest';
import { loadEvaluatorConfig } from './config.js';

const BASE = { KAFKA_BROKERS: '127.0.0.1:19092', CLICKHOUSE_URL: 'http://127.0.0.1:18123' };
const ACME_TOKEN = 'acme-secret-token-42';
const ADMIN_TOKEN = 'admin-secret-token-42';

describe('evaluator config', () => {
  it('applies defaults and keeps the tokens as a lookup, never as text', () => {
    const { access, ...rest } = loadEvaluatorConfig({
      ...BASE,
      EVALUATOR_TENANT_TOKENS: `acme:${ACME_TOKEN}`,
      EVALUATOR_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    expect(rest).toEqual({
      KAFKA_BROKERS: ['127.0.0.1:19092'],
      KAFKA_REPLICATION_FACTOR: 1,
      kafkaTopics: { replicationFactor: 1 },
      CLICKHOUSE_URL: 'http://127.0.0.1:18123',
      CLICKHOUSE_DATABASE: 'personastream',
      EVALUATOR_HTTP_PORT: 8081,
      EVALUATOR_HTTP_HOST: '127.0.0.1',
      EVALUATOR_GROUP_ID: 'evaluator',
      EVALUATOR_SCORE_ALL_USERS: false,
      EVALUATOR_INCLUDE_SENSITIVE: false,
      LOG_LEVEL: 'info',
      SHUTDOWN_DEADLINE_MS: 25_000,
    });
    expect(access.callerOf(ACME_TOKEN)).toEqual({ admin: false, tenant: 'acme' });
    expect(access.callerOf(ADMIN_TOKEN)).toEqual({ admin: true });
    expect(JSON.stringify(rest)).not.toContain('secret');
  });

  it('reads the HTTP TLS files once, naming the variable of a missing half or an unreadable file', () => {
    const base = { ...BASE, EVALUATOR_ADMIN_TOKEN: ADMIN_TOKEN };
    expect(() => loadEvaluatorConfig({ ...base, EVALUATOR_TLS_CERT_FILE: '/nonexistent/cert.pem' })).toThrow(
      'EVALUATOR_TLS_KEY_FILE: required when EVALUATOR_TLS_CERT_FILE is set (missing)',
    );
    expect(() =>
      loadEvaluatorConfig({
        ...base,
        EVALUATOR_TLS_CERT_FILE: '/nonexistent/cert.pem',
        EVALUATOR_TLS_KEY_FILE: '/nonexistent/key.pem',
      }),
    ).toThrow('EVALUATOR_TLS_CERT_FILE: cannot read "/nonexistent/cert.pem" (ENOENT)');
  });

  it('names every bad variable', () => {
    expect(() =>
      loadEvaluatorConfig({
        CLICKHOUSE_URL: 'not a url',
        CLICKHOUSE_DATABASE: 'x; DROP',
        EVALUATOR_SCORE_ALL_USERS: 'yes',
        SHUTDOWN_DEADLINE_MS: '0',
      }),
    ).toThrow(
      /KAFKA_BROKERS[\s\S]*CLICKHOUSE_URL[\s\S]*CLICKHOUSE_DATABASE[\s\S]*EVALUATOR_SCORE_ALL_USERS[\s\S]*SHUTDOWN_DEADLINE_MS: .*"0"[\s\S]*EVALUATOR_TENANT_TOKENS: at least one/,
    );
  });

  it('refuses an API nobody may use, and bad tokens, without echoing them', () => {
    expect(() => loadEvaluatorConfig(BASE)).toThrow(/EVALUATOR_TENANT_TOKENS: at least one tenant:token pair/);
    let message = '';
    try {
      loadEvaluatorConfig({
        ...BASE,
        EVALUATOR_TENANT_TOKENS: 'a/b:leaky-secret-value-1, acme:tiny',
        EVALUATOR_ADMIN_TOKEN: 'x',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/EVALUATOR_ADMIN_TOKEN: shorter than 16/);
    expect(message).toMatch(/EVALUATOR_TENANT_TOKENS: entry 1: tenant id "a\/b"/);
    expect(message).toMatch(/EVALUATOR_TENANT_TOKENS: entry 2: the token of tenant "acme" is shorter/);
    expect(message).not.toMatch(/leaky|tiny/);
  });
});
