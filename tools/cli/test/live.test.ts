import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  DefaultPartitions,
  encode,
  endOfRun,
  GroundTruthSchema,
  type Persona,
  partitionForKey,
  SemantizedWindowSchema,
  TagSchema,
  Topics,
  TruthRecordSchema,
  userKey,
} from '@personastream/contracts';
import { createPersonaClient, type PersonaClient } from '@personastream/persona';
import { createLogger } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../src/pipeline/local.js';

/**
 * A tenant's live clickstream on the real stack (Kafka, Redis, ClickHouse, the four services as
 * processes), sent by Segment's own Node library, read back through a real gRPC client — with short
 * windows, so processing-time closing happens within the test.
 */
const GAP_MS = 6_000;
const LATENESS_MS = 4_000;
const TICK_MS = 500;
const EARLY_EVERY_MS = 1_500;
const stamp = Date.now().toString(36);
const ACME = `acme-${stamp}`;
const GLOBEX = `globex-${stamp}`;
const PORTS = {
  semantizerOps: 25102,
  personaGrpc: 25051,
  personaOps: 25103,
  evaluatorHttp: 25081,
  ingestHttp: 25080,
  ingestOps: 25105,
};

let stack: LocalStack;
let acme: PersonaClient;
let globex: PersonaClient;
const analytics: Analytics[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    tenant: ACME,
    otherTenants: [GLOBEX],
    isolate: `live-${stamp}`,
    ports: PORTS,
    logSuffix: '-live-test',
    env: {
      SEMANTIZER_GAP_MS: String(GAP_MS),
      SEMANTIZER_LATENESS_MS: String(LATENESS_MS),
      SEMANTIZER_TICK_MS: String(TICK_MS),
      SEMANTIZER_EARLY_EVERY_MS: String(EARLY_EVERY_MS),
      // the partition count of the private topics' consumers: 4 partitions, handled together
      SEMANTIZER_CONCURRENCY: '4',
    },
  });
  acme = createPersonaClient(`127.0.0.1:${PORTS.personaGrpc}`, stack.tokens[ACME] as string);
  globex = createPersonaClient(`127.0.0.1:${PORTS.personaGrpc}`, stack.tokens[GLOBEX] as string);
}, 180_000);

afterAll(async () => {
  for (const a of analytics) await a.closeAndFlush({ timeout: 5_000 }).catch(() => undefined);
  acme?.close();
  globex?.close();
  await stack?.stop();
}, 60_000);

/** Segment's Node library pointed at the local ingest, writing with a tenant's key. */
function segment(tenant: string): Analytics {
  const a = new Analytics({
    writeKey: stack.tokens[tenant] as string,
    host: `http://127.0.0.1:${PORTS.ingestHttp}`,
    path: '/v1/batch',
    flushAt: 50,
    flushInterval: 100,
    maxRetries: 3,
  });
  analytics.push(a);
  return a;
}

/** What a shopper does: views, carts and buys headphones, one event every `stepMs` from `start`. */
function shopping(userId: string, n: number, start: number, stepMs: number) {
  return Array.from({ length: n }, (_, k) => ({
    userId,
    messageId: `${userId}-${k}`,
    event: k % 6 === 5 ? 'Product Added' : k === n - 1 ? 'Order Completed' : 'Product Viewed',
    timestamp: new Date(start + k * stepMs),
    properties: {
      product_id: `sku-${k % 4}`,
      category: 'Electronics > Audio > Headphones',
      brand: 'Sony',
      price: 249,
      dwell_ms: 40_000,
    },
  }));
}

/** Tracks the events and resolves once Segment's library reports every one delivered (an error fails the test). */
async function send(a: Analytics, events: ReturnType<typeof shopping>): Promise<void> {
  const delivered = events.map(
    (e) => new Promise<void>((resolve, reject) => a.track(e, (err) => (err ? reject(err) : resolve()))),
  );
  await a.flush();
  await Promise.all(delivered);
}

async function personaOf(client: PersonaClient, tenant: string, userId: string): Promise<Persona | undefined> {
  try {
    return (await client.getPersona({ tenant, userId }, { timeoutMs: 3_000 })).persona;
  } catch (err) {
    if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
    throw err;
  }
}

/** Polls until `ok(persona)` or the deadline; the persona and when it was seen. */
async function until(
  read: () => Promise<Persona | undefined>,
  ok: (p: Persona) => boolean,
  withinMs: number,
): Promise<{ persona: Persona; afterMs: number }> {
  const from = Date.now();
  let last: Persona | undefined;
  while (Date.now() - from < withinMs) {
    last = await read();
    if (last && ok(last)) return { persona: last, afterMs: Date.now() - from };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not reached within ${withinMs} ms; last persona: ${JSON.stringify(last ?? null)}`);
}

/** The parts of a persona that its statistics decide (not ids, versions or wall times). */
function substance(p: Persona) {
  return {
    windowsSeen: p.windowsSeen,
    eventsSeen: p.eventsSeen,
    lastEventTimeMs: p.lastEventTimeMs,
    summary: p.summary,
    tags: p.tags.map((t) => ({ dimension: t.dimension, value: t.value, confidence: t.confidence })),
  };
}

/** Two user ids of one partition (the live run's prices and vocabulary are per partition). */
function samePartitionUsers(tenant: string, prefix: string): [string, string] {
  const a = `${prefix}-a`;
  const p = partitionForKey(userKey(tenant, a), 4);
  for (let i = 0; ; i++) {
    const b = `${prefix}-b${i}`;
    if (partitionForKey(userKey(tenant, b), 4) === p) return [a, b];
  }
}

describe('live clickstream from a real Segment client (no end-of-run marker)', () => {
  it('turns a finished session into a persona within gap + lateness + 10 s of processing time', async () => {
    const a = segment(ACME);
    // a session (25 events, one every 2 s: within the test's short gap) that ended two hours ago
    const start = Date.now() - 2 * 3_600_000;
    await send(a, shopping('returning-never', 25, start, 2_000));
    const { persona, afterMs } = await until(
      () => personaOf(acme, ACME, 'returning-never'),
      (p) => !p.early && p.windowsSeen >= 1,
      GAP_MS + LATENESS_MS + 10_000,
    );
    expect(afterMs).toBeLessThanOrEqual(GAP_MS + LATENESS_MS + 10_000);
    expect(persona.windowsSeen).toBe(1);
    expect(persona.eventsSeen).toBe(25);
    expect(persona.tags.some((t) => t.dimension === 'interests')).toBe(true);
  });

  it('shows a session in progress through an early update; its final persona equals one finished session', async () => {
    const a = segment(ACME);
    const [live, once] = samePartitionUsers(ACME, `shopper-${stamp}`);
    const start = Date.now() - 20_000;
    const events = shopping(live, 8, start, 2_000);
    await send(a, events.slice(0, 4));
    const early = await until(
      () => personaOf(acme, ACME, live),
      (p) => p.early,
      10_000,
    );
    expect(early.persona.eventsSeen).toBe(4);
    await send(a, events.slice(4));
    const later = await until(
      () => personaOf(acme, ACME, live),
      (p) => p.early && p.eventsSeen === 8,
      10_000,
    );
    expect(later.persona.version).toBeGreaterThan(early.persona.version);
    const final = await until(
      () => personaOf(acme, ACME, live),
      (p) => !p.early,
      GAP_MS + LATENESS_MS + 10_000,
    );
    expect(final.persona.windowsSeen).toBe(1);
    expect(final.persona.eventsSeen).toBe(8);

    // the same events as one finished session, from another user of the same partition
    await send(
      a,
      events.map((e, k) => ({ ...e, userId: once, messageId: `${once}-${k}` })),
    );
    const reference = await until(
      () => personaOf(acme, ACME, once),
      (p) => !p.early,
      GAP_MS + LATENESS_MS + 10_000,
    );
    expect(substance(final.persona)).toEqual(substance(reference.persona));
  });
});

describe('runs belong to tenants (real Kafka, the whole pipeline)', () => {
  /** The native ingest body: events of a finite run, one every second (within the short gap). */
  function nativeEvents(users: string[], perUser: number, start: number, from = 0) {
    return users.flatMap((userId) =>
      Array.from({ length: perUser }, (_, k) => ({
        event_id: `${userId}-${from + k}`,
        user_id: userId,
        event_time_ms: start + (from + k) * 1_000,
        type: 'item_view',
        item: { id: `sku-${k}`, category_path: ['Electronics', 'Audio'], brand: 'Sony', price: 99 },
        dwell_ms: 30_000,
      })),
    );
  }

  async function post(tenant: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`http://127.0.0.1:${PORTS.ingestHttp}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.tokens[tenant]}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** Ground truth and its end-of-run markers on the truth topic, so the evaluator scores the run. */
  async function publishTruth(tenant: string, runId: string, users: string[]): Promise<void> {
    const stream = createKafkaStream(
      { brokers: (stack.infra.KAFKA_BROKERS ?? '').split(','), clientId: 'live-test' },
      { logger: createLogger('live-test', 'warn') },
    );
    const producer = stream.producer();
    const truths = users.map((userId) => ({
      key: userKey(tenant, userId),
      value: encode(
        TruthRecordSchema,
        create(TruthRecordSchema, {
          kind: {
            case: 'truth',
            value: create(GroundTruthSchema, {
              tenant,
              userId,
              runId,
              split: 'test',
              tags: [create(TagSchema, { dimension: 'primary_device', value: 'desktop' })],
            }),
          },
        }),
      ),
    }));
    const n = DefaultPartitions[Topics.truth];
    const markers = Array.from({ length: n }, (_, partition) => ({
      key: `eor/${runId}`,
      partition,
      value: encode(
        TruthRecordSchema,
        create(TruthRecordSchema, {
          kind: {
            case: 'endOfRun',
            value: endOfRun({ runId, producer: 'live-test', partition, totalPartitions: n, records: 0, tenant }),
          },
        }),
      ),
    }));
    await producer.send(stack.topics.truth, [...truths, ...markers]);
    await producer.close();
  }

  it('another tenant ending a run of the same id changes nothing of this tenant’s; live never ends; ApplyWindows stays in its tenant', async () => {
    const run = `shared-${stamp}`;
    const acmeUsers = ['a1', 'a2', 'a3'];
    const globexUsers = ['g1', 'g2'];
    const start = Date.now() - 3_600_000;
    expect((await post(ACME, '/v1/events', { run_id: run, events: nativeEvents(acmeUsers, 3, start) })).status).toBe(
      200,
    );
    expect(
      (await post(GLOBEX, '/v1/events', { run_id: run, events: nativeEvents(globexUsers, 3, start) })).status,
    ).toBe(200);
    await publishTruth(GLOBEX, run, globexUsers);
    await publishTruth(ACME, run, acmeUsers);

    // globex ends its run: its report comes; acme's run of the same id stays open
    const ended = await post(GLOBEX, `/v1/runs/${run}/end`);
    expect(ended.status).toBe(200);
    const globexReport = await stack.waitForReport(GLOBEX, run, 60_000);
    expect(globexReport.users).toBe(2);
    expect(await personaOf(acme, ACME, 'a1')).toBeUndefined();

    // acme goes on with the same run after globex's end: accepted, and in the same windows
    expect((await post(ACME, '/v1/events', { run_id: run, events: nativeEvents(acmeUsers, 2, start, 3) })).status).toBe(
      200,
    );
    // nobody ends the live run
    const live = await post(ACME, '/v1/runs/live/end');
    expect(live.status).toBe(409);
    expect(((await live.json()) as { error: string }).error).toBe('live_run_never_ends');

    expect((await post(ACME, `/v1/runs/${run}/end`)).status).toBe(200);
    const acmeReport = await stack.waitForReport(ACME, run, 60_000);
    expect(acmeReport.users).toBe(3);
    expect(acmeReport.updates).toBe(3);
    for (const u of acmeUsers) {
      const p = await personaOf(acme, ACME, u);
      expect({ user: u, windows: p?.windowsSeen, events: p?.eventsSeen }).toEqual({ user: u, windows: 1, events: 5 });
    }
    // globex's personas are globex's: acme's token cannot read them, nor write windows into them
    await expect(acme.getPersona({ tenant: GLOBEX, userId: 'g1' }, { timeoutMs: 3_000 })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    const window = create(SemantizedWindowSchema, {
      windowId: 'w-cross',
      tenant: ACME,
      userId: 'a1',
      runId: run,
      seq: 9,
      eventCount: 1,
    });
    await expect(globex.applyWindows({ windows: [window] }, { timeoutMs: 3_000 })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    expect((await personaOf(acme, ACME, 'a1'))?.windowsSeen).toBe(1);
  });
});
