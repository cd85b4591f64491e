import { describe, expect, it } from 'vitest';
import { LOCAL_PORTS, localTopics } from '../pipeline/local.js';
import {
  checkIsolate,
  mergeTenants,
  newAdminToken,
  newCredentials,
  portBaseOf,
  requestedTenants,
  stackPorts,
  stackServiceEnv,
  summaryOf,
} from './plan.js';

const infra = { KAFKA_BROKERS: '127.0.0.1:19092', REDIS_URL: 'redis://127.0.0.1:16379', CLICKHOUSE_URL: 'http://x' };
const creds = { ingest_key: 'psk_a', persona_token: 'pst_a', evaluator_token: 'pse_a' };

describe('stack plan', () => {
  it('uses the usual ports without a base, six consecutive ones with it', () => {
    expect(stackPorts()).toEqual(LOCAL_PORTS);
    const p = stackPorts(24100);
    expect(new Set(Object.values(p))).toEqual(new Set([24100, 24101, 24102, 24103, 24104, 24105]));
    expect(p.ingestHttp).toBe(24100);
    expect(() => stackPorts(80)).toThrow(/1024 to 65530/);
  });

  it('takes the port base from the flag before the environment and refuses words', () => {
    expect(portBaseOf(undefined, undefined)).toBeUndefined();
    expect(portBaseOf(undefined, '')).toBeUndefined();
    expect(portBaseOf(undefined, '24000')).toBe(24000);
    expect(portBaseOf('25000', '24000')).toBe(25000);
    expect(() => portBaseOf(undefined, 'high')).toThrow(/PS_STACK_PORT_BASE must be a port number/);
    expect(() => portBaseOf('x1', undefined)).toThrow(/--port-base/);
  });

  it('validates tenants with the tenant id rule and drops repeats', () => {
    expect(requestedTenants(['acme', 'globex', 'acme'])).toEqual(['acme', 'globex']);
    expect(() => requestedTenants(['a/b'])).toThrow(/--tenant: tenant id "a\/b"/);
    expect(() => requestedTenants(['-x'])).toThrow(/start with a letter or digit/);
    expect(checkIsolate('soak-1')).toBe('soak-1');
    expect(() => checkIsolate('Soak 1')).toThrow(/--isolate/);
  });

  it('keeps the credentials of known tenants and makes fresh, distinct ones for new tenants', () => {
    const a = newCredentials();
    const b = newCredentials();
    expect(a.ingest_key).toMatch(/^psk_[0-9a-f]{32}$/);
    expect(a.persona_token).toMatch(/^pst_[0-9a-f]{32}$/);
    expect(a.evaluator_token).toMatch(/^pse_[0-9a-f]{32}$/);
    expect(newAdminToken()).toMatch(/^psa_[0-9a-f]{32}$/);
    expect(a.ingest_key).not.toBe(b.ingest_key);
    expect(a.evaluator_token).not.toBe(b.evaluator_token);
    const { tenants, added } = mergeTenants({ acme: creds }, ['acme', 'globex']);
    expect(added).toEqual(['globex']);
    expect(tenants.acme).toEqual(creds);
    expect(tenants.globex?.ingest_key).toMatch(/^psk_/);
    expect(mergeTenants({ acme: creds }, ['acme']).added).toEqual([]);
  });

  it("gives the services their ports and the tenants' secrets; a private stack its own topics, keys and database", () => {
    const tenants = { acme: creds, globex: { ingest_key: 'psk_g', persona_token: 'pst_g', evaluator_token: 'pse_g' } };
    const ports = stackPorts(24100);
    const adminToken = 'psa_admin';
    const shared = stackServiceEnv({ infra, ports, tenants, adminToken, topics: localTopics() });
    expect(shared.ingest).toMatchObject({
      INGEST_API_KEYS: 'acme:psk_a,globex:psk_g',
      INGEST_HTTP_PORT: '24100',
      OPS_PORT: '24101',
      KAFKA_BROKERS: infra.KAFKA_BROKERS,
    });
    expect(shared.persona).toMatchObject({
      PERSONA_TENANT_TOKENS: 'acme:pst_a,globex:pst_g',
      PERSONA_GRPC_PORT: '24102',
      OPS_PORT: '24103',
    });
    expect(shared.evaluator).toMatchObject({
      EVALUATOR_HTTP_PORT: '24104',
      EVALUATOR_TENANT_TOKENS: 'acme:pse_a,globex:pse_g',
      EVALUATOR_ADMIN_TOKEN: 'psa_admin',
    });
    expect(shared.semantizer.OPS_PORT).toBe('24105');
    // the default stack: the contract's topics, the services' groups, prefixes and database
    for (const env of Object.values(shared)) {
      expect(Object.keys(env).filter((k) => /TOPIC|GROUP|PREFIX|DATABASE/.test(k))).toEqual([]);
    }
    const priv = stackServiceEnv({ infra, ports, tenants, adminToken, topics: localTopics('t1'), isolate: 't1' });
    expect(priv.semantizer).toMatchObject({
      SEMANTIZER_GROUP_ID: 'semantizer-t1',
      SEMANTIZER_EVENTS_TOPIC: 'behavior.events.v1-t1',
      SEMANTIZER_CHECKPOINT_PREFIX: 'ps:stack:t1:sem:',
    });
    expect(priv.persona.PERSONA_REDIS_PREFIX).toBe('ps:stack:t1:persona:');
    expect(priv.evaluator.CLICKHOUSE_DATABASE).toBe('ps_stack_t1');
    expect(priv.ingest.INGEST_EVENTS_TOPIC).toBe('behavior.events.v1-t1');
  });

  it('summarises addresses and credentials in the documented shape', () => {
    expect(summaryOf(stackPorts(24100), { acme: creds }, 'psa_admin')).toEqual({
      ingest: 'http://127.0.0.1:24100',
      persona: '127.0.0.1:24102',
      evaluator: 'http://127.0.0.1:24104',
      evaluator_admin_token: 'psa_admin',
      tenants: { acme: creds },
    });
  });
});
