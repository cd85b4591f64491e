import { describe, expect, it } from 'vitest';
import { loadEvaluatorConfig } from './config.js';

describe('evaluator config', () => {
  it('reads the HTTP TLS files once, naming the variable of a missing half or an unreadable file', () => {
    const base = { KAFKA_BROKERS: '127.0.0.1:19092', CLICKHOUSE_URL: 'http://127.0.0.1:18123' };
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

  it('applies defaults', () => {
    expect(loadEvaluatorConfig({ KAFKA_BROKERS: '127.0.0.1:19092', CLICKHOUSE_URL: 'http://127.0.0.1:18123' })).toEqual(
      {
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
      },
    );
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
      /KAFKA_BROKERS[\s\S]*CLICKHOUSE_URL[\s\S]*CLICKHOUSE_DATABASE[\s\S]*EVALUATOR_SCORE_ALL_USERS[\s\S]*SHUTDOWN_DEADLINE_MS: .*"0"/,
    );
  });
});
