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

  it('answers like a reference model (a set of the last `capacity` distinct ids) through growth and evictions', () => {
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const capacity of [1, 3, 17, 300, 2500]) {
      const r = new RecentIds(capacity);
      // reference: the distinct ids in insertion order, the last `capacity` kept
      const order: string[] = [];
      const kept = new Set<string>();
      const universe = capacity * 3;
      for (let step = 0; step < capacity * 20; step++) {
        const id = `e-${Math.floor(random() * universe)}`;
        r.add('t', id);
        if (!kept.has(id)) {
          order.push(id);
          kept.add(id);
          if (order.length > capacity) kept.delete(order.shift() as string);
        }
        if (step % Math.ceil(capacity / 4) === 0) {
          for (let u = 0; u < universe; u++) {
            const probe = `e-${u}`;
            if (r.has('t', probe) !== kept.has(probe))
              expect(r.has('t', probe), `capacity ${capacity}, step ${step}, ${probe}`).toBe(kept.has(probe));
          }
        }
      }
      expect(r.size('t')).toBe(order.length);
      expect(r.has('other', order[0] as string)).toBe(false);
    }
  });

  it('keeps exactly the last `capacity` ids through many evictions, at constant cost per insert', () => {
    const r = new RecentIds(100_000);
    const started = Date.now();
    for (let i = 0; i < 300_000; i++) r.add('t', `id-${i}`);
    // a Set-iterator eviction walks the deleted holes: ~20 s for this loop on the dev machine
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.size('t')).toBe(100_000);
    expect(r.has('t', 'id-199999')).toBe(false);
    expect(r.has('t', 'id-200000')).toBe(true);
    expect(r.has('t', 'id-299999')).toBe(true);
    r.add('t', 'id-299999'); // already there: nothing evicted
    expect(r.has('t', 'id-200000')).toBe(true);
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

  it('answers repeated keys from the verified-key map, never remembering unknown keys', () => {
    const s = ApiKeyStore.fromSpec('acme:key-one-1234');
    for (let i = 0; i < 3; i++) expect(s.tenantOf('key-one-1234')).toBe('acme');
    for (let i = 0; i < 3; i++) expect(s.tenantOf('key-one-1235')).toBeUndefined();
    expect(s.tenantOf('key-one-123')).toBeUndefined();
    s.add('globex', 'globex-key-9');
    expect(s.tenantOf('globex-key-9')).toBe('globex');
    expect(s.tenantOf('key-one-1234')).toBe('acme');
    expect(JSON.stringify(s)).not.toContain('key-one-1234');
  });

  it('keeps only digests and never echoes a key in errors', () => {
    const s = ApiKeyStore.fromSpec('acme:super-secret-value');
    expect(JSON.stringify(s)).not.toContain('super-secret-value');
    expect(() => ApiKeyStore.fromSpec('no-colon-secret')).toThrow(/tenant:key/);
    expect(() => ApiKeyStore.fromSpec('no-colon-secret')).not.toThrow(/no-colon-secret/);
    expect(() => ApiKeyStore.fromSpec('bad/tenant:long-enough-key')).toThrow(
      /^INGEST_API_KEYS: tenant id "bad\/tenant" must start with a letter or digit and contain only/,
    );
    expect(() => ApiKeyStore.fromSpec(`${'t'.repeat(65)}:long-enough-key`)).toThrow(/65 characters long; at most 64/);
    expect(() => ApiKeyStore.fromSpec('-acme:long-enough-key')).toThrow(/INGEST_API_KEYS: tenant id "-acme"/);
    expect(() => ApiKeyStore.fromSpec('acme:short')).toThrow(/too short/);
  });
});
