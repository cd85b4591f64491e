import * as grpc from '@grpc/grpc-js';
import type { Persona } from '@personastream/contracts';
import { createPersonaClient, type PersonaClient } from '@personastream/persona';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../src/pipeline/local.js';

/**
 * Real-data fidelity (issue 16): a shopper of an ordinary retail taxonomy — nothing like the
 * simulator's catalogue — sent by Segment's own Node library to the real stack (Kafka, Redis,
 * ClickHouse, the four services as processes, the bundled builtin model), read back over gRPC.
 * One session: a search for noise cancelling headphones, Sony headphones under "Electronics > Audio >
 * Headphones" viewed, added to the cart and bought for $249.
 */
const GAP_MS = 6_000;
const LATENESS_MS = 4_000;
const stamp = Date.now().toString(36);
const TENANT = `retail-${stamp}`;
const PORTS = {
  semantizerOps: 27102,
  personaGrpc: 27051,
  personaOps: 27103,
  evaluatorHttp: 27081,
  ingestHttp: 27080,
  ingestOps: 27105,
};

let stack: LocalStack;
let client: PersonaClient;
let analytics: Analytics | undefined;

beforeAll(async () => {
  stack = await startLocalStack({
    tenant: TENANT,
    isolate: `taxonomy-${stamp}`,
    ports: PORTS,
    logSuffix: '-taxonomy-test',
    env: {
      SEMANTIZER_GAP_MS: String(GAP_MS),
      SEMANTIZER_LATENESS_MS: String(LATENESS_MS),
      SEMANTIZER_TICK_MS: '500',
      SEMANTIZER_EARLY_EVERY_MS: '0',
      SEMANTIZER_CONCURRENCY: '4',
    },
  });
  client = createPersonaClient(`127.0.0.1:${PORTS.personaGrpc}`, stack.tokens[TENANT] as string);
  analytics = new Analytics({
    writeKey: stack.tokens[TENANT] as string,
    host: `http://127.0.0.1:${PORTS.ingestHttp}`,
    path: '/v1/batch',
    flushAt: 50,
    flushInterval: 100,
    maxRetries: 3,
  });
}, 180_000);

afterAll(async () => {
  await analytics?.closeAndFlush({ timeout: 5_000 }).catch(() => undefined);
  client?.close();
  await stack?.stop();
}, 60_000);

const HEADPHONES = {
  product_id: 'sony-wh1000xm5',
  sku: 'WH1000XM5/B',
  category: 'Electronics > Audio > Headphones',
  name: 'Sony WH-1000XM5 Wireless Noise Cancelling Headphones',
  brand: 'Sony',
  price: 249,
  currency: 'USD',
};

type Track = Parameters<Analytics['track']>[0];

/** The session: five events 2 s apart from `start` (one window under the test's short gap). */
function session(userId: string, start: number): Track[] {
  const at = (k: number) => new Date(start + k * 2_000);
  const context = { userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15' };
  return [
    {
      userId,
      messageId: `${userId}-0`,
      event: 'Products Searched',
      timestamp: at(0),
      properties: { query: 'noise cancelling headphones' },
      context,
    },
    {
      userId,
      messageId: `${userId}-1`,
      event: 'Product Viewed',
      timestamp: at(1),
      properties: { ...HEADPHONES, dwell_ms: 45_000 },
      context,
    },
    {
      userId,
      messageId: `${userId}-2`,
      event: 'Product Viewed',
      timestamp: at(2),
      properties: { ...HEADPHONES, dwell_ms: 30_000 },
      context,
    },
    {
      userId,
      messageId: `${userId}-3`,
      event: 'Product Added',
      timestamp: at(3),
      properties: { ...HEADPHONES, quantity: 1 },
      context,
    },
    {
      userId,
      messageId: `${userId}-4`,
      event: 'Order Completed',
      timestamp: at(4),
      properties: {
        order_id: `o-${userId}`,
        total: 249,
        revenue: 249,
        currency: 'USD',
        products: [{ ...HEADPHONES, quantity: 1 }],
      },
      context,
    },
  ];
}

async function send(events: Track[]): Promise<void> {
  const a = analytics as Analytics;
  const delivered = events.map(
    (e) => new Promise<void>((resolve, reject) => a.track(e, (err) => (err ? reject(err) : resolve()))),
  );
  await a.flush();
  await Promise.all(delivered);
}

async function personaOf(userId: string): Promise<Persona | undefined> {
  try {
    return (await client.getPersona({ tenant: TENANT, userId }, { timeoutMs: 3_000 })).persona;
  } catch (err) {
    if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
    throw err;
  }
}

async function until<T>(read: () => Promise<T | undefined>, ok: (x: T) => boolean, withinMs: number): Promise<T> {
  const from = Date.now();
  let last: T | undefined;
  while (Date.now() - from < withinMs) {
    last = await read();
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not reached within ${withinMs} ms; last: ${JSON.stringify(last ?? null)}`);
}

/** `semantizer_unmapped_events_total` from the semantizer's ops server. */
async function unmappedTotal(): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${PORTS.semantizerOps}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('semantizer_unmapped_events_total'));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('a Segment session of an ordinary retail taxonomy (issue 16)', () => {
  it('gives tech and/or music interests with evidence, and no tag above 0.95 confidence after one session', async () => {
    const user = `headphones-${stamp}`;
    await send(session(user, Date.now() - 2 * 3_600_000));
    const persona = await until(
      () => personaOf(user),
      (p) => !p.early && p.windowsSeen >= 1,
      GAP_MS + LATENESS_MS + 20_000,
    );
    expect(persona.windowsSeen).toBe(1);
    expect(persona.eventsSeen).toBe(5);
    const interests = persona.tags.filter((t) => t.dimension === 'interests');
    const audio = interests.filter((t) => t.value === 'tech' || t.value === 'music');
    expect(audio.length, JSON.stringify(interests)).toBeGreaterThan(0);
    for (const t of audio) {
      expect(t.evidence.length).toBeGreaterThan(0);
      expect(t.evidence.every((e) => e.windowId !== '')).toBe(true);
    }
    // The taxonomy's counts are the evidence: "tech: 4 events by category, product and search terms".
    expect(audio.some((t) => t.evidence.some((e) => /^(tech|music): \d+ events/.test(e.detail)))).toBe(true);
    expect(persona.tags.length).toBeGreaterThan(5);
    for (const t of persona.tags) expect(t.confidence, `${t.dimension}=${t.value}`).toBeLessThanOrEqual(0.95);
  });

  it('counts engaged events of a category the vocabulary does not know (never mapped to a guess)', async () => {
    const before = (await unmappedTotal()) ?? 0;
    const user = `unknown-${stamp}`;
    const start = Date.now() - 3_600_000;
    const item = { product_id: 'zq-1', category: 'Zorblax > Quuxen', name: 'Frobnicator 3000', price: 12 };
    await send([
      {
        userId: user,
        messageId: `${user}-0`,
        event: 'Product Viewed',
        timestamp: new Date(start),
        properties: { ...item, dwell_ms: 30_000 },
      },
      {
        userId: user,
        messageId: `${user}-1`,
        event: 'Product Viewed',
        timestamp: new Date(start + 5_000),
        properties: { ...item, dwell_ms: 20_000 },
      },
    ]);
    await until(
      () => personaOf(user),
      (p) => p.windowsSeen >= 1,
      GAP_MS + LATENESS_MS + 20_000,
    );
    const after = await until(unmappedTotal, (n) => n >= before + 2, 10_000);
    expect(after - before).toBe(2);
  });
});
