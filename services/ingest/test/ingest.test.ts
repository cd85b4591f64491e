import { createRegistry, silentLogger } from '@personastream/runtime';
import { createKafkaStream, type Stream, type StreamAdmin, type StreamProducer } from '@personastream/stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngestApp } from '../src/adapters/http.js';
import { DEFAULT_APP_CONFIG, type IngestAppConfig } from '../src/config.js';
import { ApiKeyStore } from '../src/core/api-keys.js';
import { consumeEvents, postJson, requireEnv, uniqueSuffix } from './helpers.js';
import { createOwnKafka, type OwnKafka } from './own-kafka.js';

// The ingest HTTP API on a real loopback port, producing to the real local Kafka (KAFKA_BROKERS from
// `.infra/env`) into this file's own topics. The outage test runs its own broker (see own-kafka.ts).
const brokers = requireEnv('KAFKA_BROKERS').split(',');
const suffix = uniqueSuffix();
const topics = { events: `ingest-test-events-${suffix}`, dlq: `ingest-test-dlq-${suffix}` };
const ACME = 'acme-integration-key';
const GLOBEX = 'globex-integration-key';
const keys = ApiKeyStore.fromSpec(`acme:${ACME},globex:${GLOBEX}`);
const now = Date.now();

const ev = (id: string, user: string, over: Record<string, unknown> = {}) => ({
  eventId: id,
  userId: user,
  eventTimeMs: now - 60_000,
  type: 'EVENT_TYPE_ITEM_VIEW',
  item: { id: `sku-${id}`, categoryPath: ['Sports', 'Running'], price: 42 },
  context: { device: 'mobile' },
  ...over,
});

async function startApp(
  stream: Stream,
  admin: StreamAdmin,
  over: Partial<IngestAppConfig> = {},
): Promise<{ app: FastifyInstance; url: string; producer: StreamProducer }> {
  const producer = stream.producer();
  const app = buildIngestApp(
    { ...DEFAULT_APP_CONFIG, ...over },
    {
      producer,
      keys,
      logger: silentLogger(),
      registry: createRegistry(`ingest-it-${uniqueSuffix()}`, false),
      topics,
      eventPartitions: () => admin.partitionCount(topics.events),
    },
  );
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: address, producer };
}

describe('ingest on the real stack', () => {
  let stream: Stream;
  let admin: StreamAdmin;
  let app: FastifyInstance;
  let url: string;
  let producer: StreamProducer;
  const auth = { authorization: `Bearer ${ACME}` };

  beforeAll(async () => {
    stream = createKafkaStream({ brokers, clientId: 'ingest-it' }, { logger: silentLogger() });
    admin = stream.admin();
    await admin.ensureTopics([
      { topic: topics.events, partitions: 2 },
      { topic: topics.dlq, partitions: 1 },
    ]);
    ({ app, url, producer } = await startApp(stream, admin, {
      ratePerS: 200,
      burst: 600,
      maxBatch: 500,
      maxBytes: 64 * 1024,
    }));
  });

  afterAll(async () => {
    await app?.close();
    await producer?.close();
    await admin?.close();
  });

  it('a valid batch reaches Kafka, keyed tenant/user_id, answered only after acks', async () => {
    const batch = Array.from({ length: 20 }, (_, i) => ev(`valid-${i}`, `user-${i % 5}`));
    const res = await postJson(`${url}/v1/events`, { events: batch, run_id: 'it-run' }, auth);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: 20, duplicates: 0, rejected: 0, errors: [] });
    const seen = await consumeEvents(
      stream,
      topics.events,
      (es) => es.filter((e) => e.eventId.startsWith('valid-')).length >= 20,
    );
    const mine = seen.filter((e) => e.eventId.startsWith('valid-'));
    expect(mine.map((e) => e.eventId).sort()).toEqual(batch.map((e) => e.eventId).sort());
    expect(mine.every((e) => e.tenant === 'acme' && e.runId === 'it-run' && e.receivedTimeMs > 0)).toBe(true);
    expect(mine.find((e) => e.eventId === 'valid-3')?.item?.categoryPath).toEqual(['Sports', 'Running']);

    // a retry of the same batch is not written again
    const retry = await postJson(`${url}/v1/events`, { events: batch, run_id: 'it-run' }, auth);
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 20 });
  });

  it('a mixed batch returns exact per-event errors and writes only the valid events', async () => {
    const res = await postJson(
      `${url}/v1/events`,
      {
        events: [
          ev('mixed-0', 'u1'),
          ev('mixed-1', ''),
          ev('mixed-2', 'u2', { type: 'EVENT_TYPE_WARP' }),
          ev('mixed-3', 'u3', { eventTimeMs: 'now' }),
          ev('mixed-4', 'u4', { item: { id: 'x', price: -1 } }),
          ev('mixed-5', 'u5', { type: 'EVENT_TYPE_SEARCH', query: '' }),
          ev('mixed-6', 'u6'),
        ],
      },
      auth,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      accepted: 2,
      duplicates: 0,
      rejected: 5,
      errors: [
        { index: 1, field: 'user_id', reason: 'required' },
        { index: 2, field: 'type', reason: 'unknown_value' },
        { index: 3, field: 'event_time_ms', reason: 'invalid_format' },
        { index: 4, field: 'item.price', reason: 'out_of_range' },
        { index: 5, field: 'query', reason: 'required' },
      ],
    });
    const seen = await consumeEvents(
      stream,
      topics.events,
      (es) => es.filter((e) => e.eventId.startsWith('mixed-')).length >= 2,
    );
    expect(
      seen
        .filter((e) => e.eventId.startsWith('mixed-'))
        .map((e) => e.eventId)
        .sort(),
    ).toEqual(['mixed-0', 'mixed-6']);
  });

  it('Segment track and batch shapes reach Kafka as behaviour events', async () => {
    const res = await postJson(
      `${url}/v1/batch`,
      {
        batch: [
          {
            type: 'track',
            messageId: 'seg-it-1',
            userId: 'shopper',
            event: 'Product Added',
            timestamp: new Date(now - 1000).toISOString(),
            properties: { product_id: 'p-9', category: 'Books > Fiction', price: 12.5, name: 'A Novel' },
            context: { device: { type: 'android' } },
          },
          { type: 'alias', previousId: 'a', userId: 'b' },
        ],
      },
      { authorization: `Basic ${Buffer.from(`${ACME}:`).toString('base64')}` },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: 1,
      errors: [{ index: 1, field: 'type', reason: 'unsupported' }],
    });
    const seen = await consumeEvents(stream, topics.events, (es) => es.some((e) => e.eventId === 'seg-it-1'));
    const e = seen.find((x) => x.eventId === 'seg-it-1');
    expect(e).toMatchObject({
      userId: 'shopper',
      quantity: 1,
      item: { id: 'p-9', categoryPath: ['Books', 'Fiction'], title: 'A Novel' },
    });
    expect(e?.context?.device).toBe('mobile');
  });

  it('401 without a key or with a wrong one, 403 for another tenant', async () => {
    const body = { events: [ev('auth-1', 'u1')] };
    const none = await postJson(`${url}/v1/events`, body);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('unauthenticated');
    const wrong = await postJson(`${url}/v1/events`, body, { authorization: 'Bearer not-a-real-key' });
    expect(wrong.status).toBe(401);
    const path = await postJson(`${url}/v1/tenants/acme/events`, body, { authorization: `Bearer ${GLOBEX}` });
    expect(path.status).toBe(403);
    const inBody = await postJson(
      `${url}/v1/events`,
      { events: [ev('auth-2', 'u1', { tenant: 'acme' })] },
      {
        authorization: `Bearer ${GLOBEX}`,
      },
    );
    expect(inBody.status).toBe(403);
    expect(inBody.body.errors).toEqual([{ index: 0, field: 'tenant', reason: 'tenant_mismatch' }]);
    const ok = await postJson(`${url}/v1/tenants/acme/events`, body, auth);
    expect(ok.status).toBe(200);
  });

  it('413 past the byte limit and past the event limit', async () => {
    const big = await postJson(
      `${url}/v1/events`,
      { events: [ev('big', 'u1', { query: 'q'.repeat(70 * 1024) })] },
      auth,
    );
    expect(big.status).toBe(413);
    expect(big.body.error).toBe('payload_too_large');
    const many = Array.from({ length: 501 }, (_, i) => ({ eventId: `m${i}` }));
    const tooMany = await postJson(`${url}/v1/events`, many, auth);
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error).toBe('too_many_events');
  });

  it('429 with Retry-After past the tenant rate limit, while another tenant still passes', async () => {
    // bucket: 600 events, 200/s; earlier tests used a few dozen
    const batch = (p: string) => Array.from({ length: 300 }, (_, i) => ev(`${p}-${i}`, `u${i % 7}`));
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const r = await postJson(`${url}/v1/events`, batch(`rate${i}`), auth);
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses).toContain(429);
    expect(statuses[0]).toBe(200);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const other = await postJson(`${url}/v1/events`, [ev('globex-1', 'g1')], { authorization: `Bearer ${GLOBEX}` });
    expect(other.status).toBe(200);
  });

  describe('Kafka stopped mid-test (own broker)', () => {
    let own: OwnKafka;
    let ownStream: Stream;
    let ownAdmin: StreamAdmin;
    let ownApp: FastifyInstance | undefined;
    let ownProducer: StreamProducer | undefined;

    beforeAll(async () => {
      own = await createOwnKafka();
      await own.start();
      ownStream = createKafkaStream({ brokers: [own.brokers], clientId: 'ingest-it-own' }, { logger: silentLogger() });
      ownAdmin = ownStream.admin();
      await ownAdmin.ensureTopics([{ topic: topics.events, partitions: 2 }]);
    });

    afterAll(async () => {
      await ownApp?.close();
      await ownProducer?.close().catch(() => {});
      await ownAdmin?.close().catch(() => {});
      await own?.destroy();
    });

    it('answers 503 with Retry-After while Kafka is down, and loses nothing it accepted', async () => {
      const started = await startApp(ownStream, ownAdmin, { produceTimeoutMs: 3000, retryAfterS: 2 });
      ownApp = started.app;
      ownProducer = started.producer;
      const accepted = new Set<string>();
      const send = async (ids: string[]) => {
        const r = await postJson(`${started.url}/v1/events`, { events: ids.map((id) => ev(id, `u-${id}`)) }, auth);
        if (r.status === 200) for (const id of ids) accepted.add(id);
        return r;
      };
      const before = Array.from({ length: 40 }, (_, i) => `before-${i}`);
      expect((await send(before)).status).toBe(200);

      await own.stop();
      const during = Array.from({ length: 40 }, (_, i) => `during-${i}`);
      const t0 = Date.now();
      const down = await send(during);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('2');
      expect(down.body.error).toBe('unavailable');
      expect(down.body).not.toHaveProperty('accepted');
      expect(Date.now() - t0).toBeLessThan(15_000);

      await own.start();
      // the client retries after Retry-After until the batch is accepted (or found already written)
      let retried = down;
      for (let attempt = 0; attempt < 30 && retried.status !== 200; attempt++) {
        await new Promise((r) => setTimeout(r, Number(retried.headers.get('retry-after') ?? 2) * 1000));
        retried = await send(during);
      }
      expect(retried.status).toBe(200);
      expect(Number(retried.body.accepted) + Number(retried.body.duplicates)).toBe(40);
      const after = Array.from({ length: 10 }, (_, i) => `after-${i}`);
      expect((await send(after)).status).toBe(200);

      const seen = await consumeEvents(ownStream, topics.events, (es) => {
        const ids = new Set(es.map((e) => e.eventId));
        return [...accepted].every((id) => ids.has(id));
      });
      const ids = new Set(seen.map((e) => e.eventId));
      const lost = [...accepted].filter((id) => !ids.has(id));
      expect(accepted.size).toBe(90);
      expect(lost).toEqual([]);
    });
  });
});
