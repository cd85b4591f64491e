import { fromBinary } from '@bufbuild/protobuf';
import { EventRecordSchema } from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { MemoryBroker, type OutRecord, type StreamProducer } from '@personastream/stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_APP_CONFIG, type IngestAppConfig } from '../config.js';
import { ApiKeyStore } from '../core/api-keys.js';
import { buildIngestApp } from './http.js';

const KEY = 'acme-secret-key-1';
const OTHER = 'globex-secret-key';
const keys = ApiKeyStore.fromSpec(`acme:${KEY},globex:${OTHER}`);
const T0 = Date.UTC(2025, 0, 1);
const auth = { authorization: `Bearer ${KEY}` };

const ev = (i: number, over: Record<string, unknown> = {}) => ({
  eventId: `e${i}`,
  userId: `u${i % 4}`,
  eventTimeMs: T0 + i,
  type: 'ITEM_VIEW',
  item: { id: `sku${i}` },
  ...over,
});

let apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

function setup(over: Partial<IngestAppConfig> = {}, producer?: StreamProducer) {
  const broker = new MemoryBroker(4);
  const app = buildIngestApp(
    { ...DEFAULT_APP_CONFIG, ...over },
    {
      producer: producer ?? broker.producer(),
      keys,
      logger: silentLogger(),
      registry: createRegistry('ingest-test', false),
      now: () => T0 + 60_000,
    },
  );
  apps.push(app);
  const ids = () =>
    broker.read('behavior.events.v1').map((r) => {
      const rec = fromBinary(EventRecordSchema, r.value);
      if (rec.kind.case === 'event') return rec.kind.value.eventId;
      return rec.kind.case === 'endOfRun' || rec.kind.case === 'tick'
        ? `eor:${rec.kind.value.partition}`
        : String(rec.kind.case);
    });
  return { app, broker, ids };
}

describe('ingest HTTP API', () => {
  it('accepts a valid batch only after the producer resolved, and writes it to the events topic', async () => {
    const { app, ids, broker } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth,
      payload: { events: [ev(1), ev(2)] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: 0, errors: [] });
    expect(ids().sort()).toEqual(['e1', 'e2']);
    expect(
      broker
        .read('behavior.events.v1')
        .map((r) => r.key)
        .sort(),
    ).toEqual(['acme/u1', 'acme/u2']);
  });

  it('401 without a key or with an unknown one; Basic and X-API-Key work', async () => {
    const { app } = setup();
    const payload = { events: [ev(1)] };
    const none = await app.inject({ method: 'POST', url: '/v1/events', payload });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: 'Bearer nope-nope-nope' },
      payload,
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toContain('nope-nope');
    const basic = Buffer.from(`${KEY}:`).toString('base64');
    expect(
      (await app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Basic ${basic}` }, payload }))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: { 'x-api-key': KEY },
          payload: { events: [ev(2)] },
        })
      ).statusCode,
    ).toBe(200);
  });

  it("403 for another tenant's path or events; nothing is written", async () => {
    const { app, ids } = setup();
    const path = await app.inject({
      method: 'POST',
      url: '/v1/tenants/globex/events',
      headers: auth,
      payload: { events: [ev(1)] },
    });
    expect(path.statusCode).toBe(403);
    const body = await app.inject({
      method: 'POST',
      url: '/v1/tenants/acme/events',
      headers: auth,
      payload: { events: [ev(1), ev(2, { tenant: 'globex' })] },
    });
    expect(body.statusCode).toBe(403);
    expect(body.json().errors).toEqual([{ index: 1, field: 'tenant', reason: 'tenant_mismatch' }]);
    expect(ids()).toEqual([]);
  });

  it('returns per-event errors for a mixed batch and 400 when every event is invalid', async () => {
    const { app, ids } = setup();
    const mixed = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth,
      payload: { events: [ev(1), ev(2, { userId: '' }), ev(3, { type: 'NOPE' })] },
    });
    expect(mixed.statusCode).toBe(200);
    expect(mixed.json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: 2,
      errors: [
        { index: 1, field: 'user_id', reason: 'required' },
        { index: 2, field: 'type', reason: 'unknown_value' },
      ],
    });
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth,
      payload: { events: [ev(4, { userId: 5 })] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ index: 0, field: 'user_id', reason: 'invalid_type' }]);
    const notBatch = await app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: { hello: 1 } });
    expect(notBatch.statusCode).toBe(400);
    expect(ids()).toEqual(['e1']);
  });

  it('413 past the byte limit or the event limit', async () => {
    const { app } = setup({ maxBytes: 2000, maxBatch: 3, burst: 10 });
    const big = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth,
      payload: { events: [ev(1, { query: 'x'.repeat(3000) })] },
    });
    expect(big.statusCode).toBe(413);
    const many = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth,
      payload: [ev(1), ev(2), ev(3), ev(4)],
    });
    expect(many.statusCode).toBe(413);
    expect(many.json().error).toBe('too_many_events');
  });

  it('429 with Retry-After past the per-tenant rate; other tenants are not affected', async () => {
    const { app } = setup({ ratePerS: 1, burst: 3, maxBatch: 3 });
    const send = (n: number, key = KEY, from = 0) =>
      app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { authorization: `Bearer ${key}` },
        payload: Array.from({ length: n }, (_, i) => ev(from + i)),
      });
    expect((await send(3)).statusCode).toBe(200);
    const limited = await send(1, KEY, 10);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await send(2, OTHER)).statusCode).toBe(200);
  });

  it('is idempotent by event id: a retried batch is not written twice', async () => {
    const { app, ids } = setup();
    const payload = { events: [ev(1), ev(2), ev(1)] };
    const first = await app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload });
    expect(first.json()).toMatchObject({ accepted: 2, duplicates: 1 });
    const again = await app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload });
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 3 });
    // concurrent retries of the same batch
    const p3 = { events: [ev(3), ev(4)] };
    const [a, b] = await Promise.all([
      app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: p3 }),
      app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: p3 }),
    ]);
    expect(a.json().accepted + b.json().accepted).toBe(2);
    expect(ids().sort()).toEqual(['e1', 'e2', 'e3', 'e4']);
  });

  it('503 with Retry-After when the producer fails, accepting nothing; a retry succeeds later', async () => {
    const broker = new MemoryBroker(4);
    let down = true;
    const producer: StreamProducer = {
      send: async (topic: string, records: OutRecord[]) => {
        if (down) throw new Error('broker unreachable');
        return broker.producer().send(topic, records);
      },
      close: async () => {},
    };
    const { app } = setup({ retryAfterS: 7 }, producer);
    const payload = { events: [ev(1), ev(2)] };
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
      status: 'ok',
      kafka: 'unavailable',
    });
    down = false;
    const retry = await app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload });
    expect(retry.json()).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(broker.read('behavior.events.v1')).toHaveLength(2);
  });

  it('503 on a produce timeout; an acknowledgement that arrives later makes the retry a duplicate', async () => {
    const broker = new MemoryBroker(4);
    let release: () => void = () => {};
    const producer: StreamProducer = {
      send: (topic, records) =>
        new Promise<void>((resolve) => {
          release = () => {
            broker.append(topic, records);
            resolve();
          };
        }),
      close: async () => {},
    };
    const { app } = setup({ produceTimeoutMs: 30 }, producer);
    const payload = { events: [ev(1)] };
    expect((await app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload })).statusCode).toBe(503);
    release();
    await new Promise((r) => setImmediate(r));
    const retry = await app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload });
    expect(retry.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(broker.read('behavior.events.v1')).toHaveLength(1);
  });

  it('takes Segment track and batch, and ends a run on every partition', async () => {
    const { app, ids } = setup();
    const track = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`, 'content-type': 'text/plain' },
      payload: JSON.stringify({
        messageId: 'm1',
        userId: 'u1',
        event: 'Product Viewed',
        timestamp: '2025-01-01T00:00:00Z',
        properties: { product_id: 'p1' },
      }),
    });
    expect(track.json()).toEqual({ accepted: 1, duplicates: 0, rejected: 0, errors: [] });
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth,
      payload: { batch: [{ type: 'page', messageId: 'm2', userId: 'u1', timestamp: '2025-01-01T00:00:00Z' }] },
    });
    expect(batch.json().accepted).toBe(1);
    const end = await app.inject({ method: 'POST', url: '/v1/runs/replay-1/end', headers: auth });
    expect(end.json()).toEqual({ partitions: 4, records: 0 });
    expect(
      ids()
        .filter((i) => i.startsWith('eor:'))
        .sort(),
    ).toEqual(['eor:0', 'eor:1', 'eor:2', 'eor:3']);
  });

  it('serves the OpenAPI document, health and metrics', async () => {
    const { app } = setup();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/events',
        '/v1/track',
        '/v1/batch',
        '/v1/tenants/{tenant}/events',
        '/v1/runs/{runId}/end',
        '/v1/tenants/{tenant}/runs/{runId}/end',
      ]),
    );
    expect(Object.keys(doc.paths['/v1/runs/{runId}/end'].post.responses)).toContain('409');
    expect(doc.paths['/v1/events'].post.responses['409'].description).toMatch(/run_ended/);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: [ev(1)] });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('ingest_events_total{tenant="acme",outcome="accepted",service="ingest-test"} 1');
    expect(metrics).not.toContain(KEY);
  });
});
