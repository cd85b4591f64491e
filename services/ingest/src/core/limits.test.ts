import { describe, expect, it } from 'vitest';
import { ApiKeyStore } from './api-keys.js';
import { RecentIds } from './recent-ids.js';
import { TokenBuckets } from './token-bucket.js';

describe('TokenBuckets', () => {
  it('grants up to the burst, refills at the rate, and tells how long to wait', () => {
    let t = 0;
    const b = new TokenBuckets(10, 20, () => t);
    expect(b.take('a', 20)).toBe(0);
    expect(b.take('a', 5)).toBeCloseTo(0.5);
    expect(b.take('b', 5)).toBe(0);
    t = 500;
    expect(b.take('a', 5)).toBe(0);
    expect(b.take('a', 21)).toBe(Number.POSITIVE_INFINITY);
    b.refund('a', 5);
    expect(b.take('a', 5)).toBe(0);
  });
});

describe('RecentIds', () => {
  it('remembers the last ids of each tenant, forgetting the oldest', () => {
    const r = new RecentIds(2);
    r.add('t', 'a');
    r.add('t', 'b');
    r.add('u', 'a');
    r.add('t', 'c');
    expect([r.has('t', 'a'), r.has('t', 'b'), r.has('t', 'c'), r.has('u', 'a')]).toEqual([false, true, true, true]);
    expect(r.size('t')).toBe(2);
  });
});

describe('ApiKeyStore', () => {
  it('maps keys to tenants, with several keys per tenant and keys containing colons', () => {
    const s = ApiKeyStore.fromSpec(' acme:key-one-1234 , acme:key:two:5678,globex:globex-key-9 ');
    expect(s.tenantOf('key-one-1234')).toBe('acme');
    expect(s.tenantOf('key:two:5678')).toBe('acme');
    expect(s.tenantOf('globex-key-9')).toBe('globex');
    expect(s.tenantOf('key-one-123')).toBeUndefined();
    expect(s.tenants()).toEqual(['acme', 'globex']);
  });

  it('keeps only digests and never echoes a key in errors', () => {
    const s = ApiKeyStore.fromSpec('acme:super-secret-value');
    expect(JSON.stringify(s)).not.toContain('super-secret-value');
    expect(() => ApiKeyStore.fromSpec('no-colon-secret')).toThrow(/tenant:key/);
    expect(() => ApiKeyStore.fromSpec('no-colon-secret')).not.toThrow(/no-colon-secret/);
    expect(() => ApiKeyStore.fromSpec('bad/tenant:long-enough-key')).toThrow(/invalid tenant/);
    expect(() => ApiKeyStore.fromSpec('acme:short')).toThrow(/too short/);
  });
});
