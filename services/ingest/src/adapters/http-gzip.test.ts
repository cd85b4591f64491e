import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { fromBinary } from '@bufbuild/protobuf';
import { EventRecordSchema } from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { MemoryBroker } from '@personastream/stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_APP_CONFIG, type IngestAppConfig } from '../config.js';
import { ApiKeyStore } from '../core/api-keys.js';
import { bodyCodingOf, type GunzipStats, gunzipCapped } from './gunzip.js';
import { buildIngestApp } from './http.js';

const KEY = 'acme-secret-key-1';
const keys = ApiKeyStore.fromSpec(`acme:${KEY}`);
const T0 = Date.UTC(2025, 0, 1);
const MiB = 1024 * 1024;
const gz = (body: unknown) => gzipSync(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-encoding': 'gzip' };

const ev = (i: number) => ({ eventId: `e${i}`, userId: `u${i % 4}`, eventTimeMs: T0 + i, type: 'PAGE_VIEW' });

let apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

function setup(over: Partial<IngestAppConfig> = {}) {
  const broker = new MemoryBroker(4);
  const registry = createRegistry('ingest-gzip-test', false);
  const app = buildIngestApp(
    { ...DEFAULT_APP_CONFIG, ...over },
    { producer: broker.producer(), keys, logger: silentLogger(), registry, now: () => T0 + 60_000 },
  );
  apps.push(app);
  const ids = () =>
    broker.read('behavior.events.v1').map((r) => {
      const rec = fromBinary(EventRecordSchema, r.value);
      return rec.kind.case === 'event' ? rec.kind.value.eventId : 'marker';
    });
  const inflated = async () => {
    const m = await registry.getSingleMetric('ingest_decompressed_bytes_total')?.get();
    return m?.values[0]?.value ?? 0;
  };
  return { app, ids, inflated };
}

describe('gzip request bodies', () => {
  it('names the codings: gzip and x-gzip (any case), identity; anything else is unsupported', () => {
    expect(bodyCodingOf(undefined)).toBe('identity');
    expect(bodyCodingOf('identity')).toBe('identity');
    expect(bodyCodingOf(' GZip ')).toBe('gzip');
    expect(bodyCodingOf('x-gzip')).toBe('gzip');
    expect(bodyCodingOf('br')).toBe('unsupported');
    expect(bodyCodingOf('deflate')).toBe('unsupported');
    expect(bodyCodingOf('gzip, gzip')).toBe('unsupported');
  });

  it('accepts gzip on every ingest route, in both path forms', async () => {
    const { app, ids } = setup();
    const message = (id: string, type: string) => ({
      type,
      messageId: id,
      userId: 'u1',
      timestamp: '2025-01-01T00:00:00Z',
      event: 'Product Viewed',
      properties: { product_id: 'p1' },
    });
    const routes: Array<[string, (id: string) => unknown]> = [
      ['events', (id) => ({ events: [{ ...ev(1), eventId: id }] })],
      ['track', (id) => message(id, 'track')],
      ['page', (id) => message(id, 'page')],
      ['screen', (id) => message(id, 'screen')],
      ['identify', (id) => message(id, 'identify')],
      ['batch', (id) => ({ batch: [message(id, 'track')] })],
    ];
    const expected: string[] = [];
    for (const [route, body] of routes) {
      for (const prefix of ['/v1', '/v1/tenants/acme']) {
        const id = `${prefix}/${route}`;
        const res = await app.inject({ method: 'POST', url: `${prefix}/${route}`, headers, payload: gz(body(id)) });
        expect(res.statusCode, id).toBe(200);
        expect(res.json(), id).toMatchObject({ accepted: 1, rejected: 0 });
        expected.push(id);
      }
    }
    // Segment's browser library posts text/plain; x-gzip is gzip's old name
    const text = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...headers, 'content-type': 'text/plain', 'content-encoding': 'x-gzip' },
      payload: gz(message('plain', 'track')),
    });
    expect(text.json()).toMatchObject({ accepted: 1 });
    expect(ids().sort()).toEqual([...expected, 'plain'].sort());
  });

  it('415 for other codings, 400 for a corrupt or truncated gzip body', async () => {
    const { app, ids } = setup();
    const br = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...headers, 'content-encoding': 'br' },
      payload: gz([ev(1)]),
    });
    expect(br.statusCode).toBe(415);
    expect(br.json()).toMatchObject({ error: 'unsupported_media_type', message: expect.stringMatching(/br is not/) });
    const corrupt = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: '{"events":[]}' });
    expect(corrupt.statusCode).toBe(400);
    expect(corrupt.json()).toEqual({
      error: 'invalid_body',
      message: expect.stringMatching(/^body is not valid gzip \(Content-Encoding: gzip\): /),
    });
    const whole = gz({ events: [ev(1), ev(2)] });
    const truncated = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers,
      payload: whole.subarray(0, whole.length - 12),
    });
    expect(truncated.statusCode).toBe(400);
    expect(truncated.json().message).toMatch(/not valid gzip.*unexpected end of file/);
    const notJson = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: gz('{nope') });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().message).toMatch(/not valid JSON/);
    expect(ids()).toEqual([]);
  });

  it('applies the size limit to the decompressed bytes: 413 for a small body that inflates past it', async () => {
    const { app, ids } = setup({ maxBytes: 4096 });
    const fits = { events: [ev(1)], pad: 'x'.repeat(3000) };
    expect((await app.inject({ method: 'POST', url: '/v1/events', headers, payload: gz(fits) })).statusCode).toBe(200);
    const big = gz({ events: [ev(2)], pad: 'x'.repeat(5000) });
    expect(big.length).toBeLessThan(200);
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: big });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({
      error: 'payload_too_large',
      message: 'request body is larger than 4096 bytes once decompressed',
    });
    expect(ids()).toEqual(['e1']);
  });

  it('stops a gzip bomb (50 MB of zeros in a few KB) after about the limit: 413, no memory growth', async () => {
    const { app, inflated } = setup({ maxBytes: MiB });
    const bomb = gzipSync(Buffer.alloc(50 * MiB), { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: bomb });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('payload_too_large');
    // what was inflated: the limit plus at most one 16 KiB inflater chunk — not 50 MB
    const bytes = await inflated();
    expect(bytes).toBeGreaterThan(MiB);
    expect(bytes).toBeLessThanOrEqual(MiB + 16 * 1024);
    // and the process did not grow by anything near the inflated size (loose: the heap is shared)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(24 * MiB);
  });

  it('the inflating stream reads no further than it needs and reports what it did', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * MiB), { level: 9 });
    // the compressed body arrives in 1 KiB pieces, as from a socket
    const pieces = Array.from({ length: Math.ceil(bomb.length / 1024) }, (_, i) =>
      bomb.subarray(i * 1024, (i + 1) * 1024),
    );
    let stats: GunzipStats | undefined;
    const out = gunzipCapped(Readable.from(pieces, { objectMode: false }), MiB, (s) => {
      stats = s;
    });
    let taken = 0;
    const err = await new Promise<Error>((resolve) => {
      out.on('data', (c: Buffer) => {
        taken += c.length;
      });
      out.on('error', resolve);
      out.on('end', () => resolve(new Error('ended without error')));
    });
    expect(err.message).toBe(`request body is larger than ${MiB} bytes once decompressed`);
    expect(taken).toBeLessThanOrEqual(MiB);
    expect(stats?.inflated).toBeLessThanOrEqual(MiB + 16 * 1024);
    // ~1 KiB of this input inflates to ~1 MiB: reading stopped after the inflater's 16 KiB input
    // buffer, a third of the body
    expect(stats?.encoded).toBeLessThanOrEqual(16 * 1024);
    expect(bomb.length).toBeGreaterThan(3 * 16 * 1024);
    expect(out.receivedEncodedLength).toBe(stats?.encoded);
  });

  it('inflates a valid body exactly and counts both sides', async () => {
    const text = JSON.stringify({ events: Array.from({ length: 200 }, (_, i) => ev(i)) });
    const z = gzipSync(Buffer.from(text));
    let stats: GunzipStats | undefined;
    const out = gunzipCapped(Readable.from([z.subarray(0, 100), z.subarray(100)]), MiB, (s) => {
      stats = s;
    });
    const chunks: Buffer[] = [];
    for await (const c of out) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(text);
    expect(stats).toEqual({ encoded: z.length, inflated: Buffer.byteLength(text) });
  });
});
