import { ConfigError } from '@personastream/runtime';
import { describe, expect, it } from 'vitest';
import { parseTenantTokens } from './adapters/grpc-server.js';
import { loadPersonaConfig } from './config.js';

const base = { KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379' };

function problems(env: Record<string, string>): string {
  try {
    loadPersonaConfig({ ...base, ...env });
    return 'ok';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.join('\n');
  }
}

describe('persona config', () => {
  it('reads the gRPC TLS files once, naming the variable of a missing half or an unreadable file', () => {
    const tokens = { PERSONA_TENANT_TOKENS: 'acme:secret-1' };
    expect(loadPersonaConfig({ ...base, ...tokens }).tls).toBeUndefined();
    expect(problems({ ...tokens, PERSONA_TLS_CERT_FILE: '/nonexistent/cert.pem' })).toBe(
      'PERSONA_TLS_KEY_FILE: required when PERSONA_TLS_CERT_FILE is set (missing)',
    );
    expect(
      problems({
        ...tokens,
        PERSONA_TLS_CERT_FILE: '/nonexistent/cert.pem',
        PERSONA_TLS_KEY_FILE: '/nonexistent/key.pem',
      }),
    ).toBe(
      'PERSONA_TLS_CERT_FILE: cannot read "/nonexistent/cert.pem" (ENOENT)\nPERSONA_TLS_KEY_FILE: cannot read "/nonexistent/key.pem" (ENOENT)',
    );
  });

  it('accepts tenant tokens and tenant lists of valid tenant ids', () => {
    const cfg = loadPersonaConfig({
      ...base,
      PERSONA_TENANT_TOKENS: 'acme:secret-1, globex.eu_2:secret-2',
      PERSONA_SENSITIVE_OFF_TENANTS: 'globex.eu_2',
    });
    expect(cfg.PERSONA_SENSITIVE_OFF_TENANTS).toEqual(['globex.eu_2']);
    expect([...parseTenantTokens(cfg.PERSONA_TENANT_TOKENS).values()]).toEqual(['acme', 'globex.eu_2']);
  });

  it('refuses tenant ids outside the tenant id character set, naming the variable and never echoing a token', () => {
    const p = problems({ PERSONA_TENANT_TOKENS: 'acme:ok-token,a/b:very-secret-token' });
    expect(p).toMatch(/^PERSONA_TENANT_TOKENS: entry 2: tenant id "a\/b" must start with a letter or digit/);
    expect(p).not.toMatch(/secret/);
    expect(problems({ PERSONA_TENANT_TOKENS: 'acme very-secret-token' })).toBe(
      'PERSONA_TENANT_TOKENS: entry 1 is not tenant:token',
    );
    expect(problems({ PERSONA_TENANT_TOKENS: `${'t'.repeat(65)}:very-secret-token` })).toMatch(
      /PERSONA_TENANT_TOKENS: entry 1: tenant id "t+" is 65 characters long; at most 64/,
    );
    expect(problems({ PERSONA_TENANT_TOKENS: 'acme:x', PERSONA_SENSITIVE_OFF_TENANTS: 'ok,-bad' })).toMatch(
      /^PERSONA_SENSITIVE_OFF_TENANTS: tenant id "-bad" must start/,
    );
    expect(() => parseTenantTokens('{a}:very-secret-token')).toThrow(
      /^PERSONA_TENANT_TOKENS: entry 1: tenant id "\{a\}"/,
    );
    expect(() => parseTenantTokens('{a}:very-secret-token')).not.toThrow(/secret/);
  });
});
