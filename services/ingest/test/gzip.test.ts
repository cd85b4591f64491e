import { promisify } from 'node:util';
import { gzip as gzipCb, gzipSync } from 'node:zlib';
import { createRegistry, type Registry, silentLogger } from '@personastream/runtime';
import { createKafkaStream, type Stream, type StreamAdmin, type StreamProducer } from '@personastream/stream';
import { Analytics, type HTTPClient, type HTTPClientRequest, type HTTPResponse } from '@segment/analytics-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngestApp } from '../src/adapters/http.js';
import { DEFAULT_APP_CONFIG } from '../src/config.js';
import { ApiKeyStore } from '../src/core/api-keys.js';
import { consumeEvents, requireEnv, uniqueSuffix } from './helpers.js';

// Compressed bodies over a real socket into the real local Kafka (own topics): a plain fetch with a
// gzip body, Segment's own Node library (analytics-node 3.1) posting gzip batches through its
// pluggable HTTP client, and a gzip bomb that must be stopped at the size limit.
const brokers = requireEnv('KAFKA_BROKERS').split(',');
const suffix = uniqueSuffix();
const topics = { events: `ingest-gzip-events-${suffix}`, dlq: `ingest-gzip-dlq-${suffix}` };
const KEY = 'acme-gzip-integration-key';
const PORT = 23101;
const MAX_BYTES = 256 * 1024;
const gzip = promisify(gzipCb);

/** Segment's HTTP client interface, sending each request body gzip-compressed (as the Segment API accepts). */
class GzipHttpClient implements HTTPClient {
  readonly statuses: number[] = [];
  async makeRequest(req: HTTPClientRequest): Promise<HTTPResponse> {
    const body = await gzip(Buffer.from(req.body));
    const res = await fetch(req.url, {
      method: req.method,
      headers: { ...req.headers, 'Content-Encoding': 'gzip' },
      body,
      signal: AbortSignal.timeout(req.httpRequestTimeout),
    });
    this.statuses.push(res.status);
    return res;
  }
}

describe('gzip bodies on the real stack', () => {
  let stream: Stream;
  let admin: StreamAdmin;
  let producer: StreamProducer;
  let app: FastifyInstance;
  let registry: Registry;
  const url = `http://127.0.0.1:${PORT}`;

  beforeAll(async () => {
    stream = createKafkaStream({ brokers, clientId: 'ingest-gzip-it' }, { logger: silentLogger() });
    admin = stream.admin();
    await admin.ensureTopics([
      { topic: topics.events, partitions: 2 },
      { topic: topics.dlq, partitions: 1 },
    ]);
    producer = stream.producer();
    registry = createRegistry(`ingest-gzip-it-${suffix}`, false);
    app = buildIngestApp(
      { ...DEFAULT_APP_CONFIG, maxBytes: MAX_BYTES },
      {
        producer,
        keys: ApiKeyStore.fromSpec(`acme:${KEY}`),
        logger: silentLogger(),
        registry,
        topics,
        eventPartitions: () => admin.partitionCount(topics.events),
      },
    );
    await app.listen({ port: PORT, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    await producer?.close();
    await admin?.close();
  });

  it('a plain fetch with a gzip body reaches Kafka', async () => {
    const now = Date.now();
    const events = Array.from({ length: 30 }, (_, i) => ({
      eventId: `fetch-gz-${i}`,
      userId: `fetch-user-${i % 3}`,
      eventTimeMs: now - 1000,
      type: 'EVENT_TYPE_ITEM_VIEW',
      item: { id: `sku-${i}`, categoryPath: ['Books', 'Fiction'], price: 12 },
    }));
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ events })),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 30, duplicates: 0, rejected: 0, errors: [] });
    const seen = await consumeEvents(
      stream,
      topics.events,
      (es) => es.filter((e) => e.eventId.startsWith('fetch-gz-')).length >= 30,
    );
    const mine = seen.filter((e) => e.eventId.startsWith('fetch-gz-'));
    expect(mine.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(mine.every((e) => e.tenant === 'acme' && e.runId === 'live')).toBe(true);
  });

  it("Segment's analytics-node posts gzip batches that reach Kafka", async () => {
    const http = new GzipHttpClient();
    const analytics = new Analytics({
      writeKey: KEY,
      host: url,
      path: '/v1/batch',
      flushAt: 10,
      flushInterval: 200,
      maxRetries: 1,
      httpClient: http,
    });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const user = `seg-gz-${suffix}`;
    for (let i = 0; i < 25; i++) {
      analytics.track({
        userId: user,
        event: i % 5 === 0 ? 'Products Searched' : 'Product Viewed',
        properties:
          i % 5 === 0 ? { query: 'running shoes' } : { product_id: `p-${i}`, category: 'Sports > Running', price: 80 },
        timestamp: new Date(Date.now() - 60_000 + i * 1000),
      });
    }
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(errors).toEqual([]);
    expect(http.statuses.length).toBeGreaterThanOrEqual(3);
    expect(http.statuses.every((s) => s === 200)).toBe(true);
    const seen = await consumeEvents(stream, topics.events, (es) => es.filter((e) => e.userId === user).length >= 25);
    const mine = seen.filter((e) => e.userId === user);
    expect(mine).toHaveLength(25);
    expect(new Set(mine.map((e) => e.eventId)).size).toBe(25);
    expect(mine.filter((e) => e.query === 'running shoes')).toHaveLength(5);
    expect(mine.find((e) => e.item?.id === 'p-1')?.item?.categoryPath).toEqual(['Sports', 'Running']);
  });

  it('a gzip bomb gets 413 after about the limit has been inflated; the server stays well', async () => {
    const metric = async () =>
      (await registry.getSingleMetric('ingest_decompressed_bytes_total')?.get())?.values[0]?.value ?? 0;
    const before = await metric();
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(MAX_BYTES);
    const res = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: 'payload_too_large',
      message: `request body is larger than ${MAX_BYTES} bytes once decompressed`,
    });
    const inflated = (await metric()) - before;
    expect(inflated).toBeGreaterThan(MAX_BYTES);
    expect(inflated).toBeLessThanOrEqual(MAX_BYTES + 16 * 1024);
    // the same connection pool keeps working
    const ok = await fetch(`${url}/v1/page`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ type: 'page', messageId: `after-bomb-${suffix}`, userId: 'u1' })),
    });
    expect(ok.status).toBe(200);
  });
});
