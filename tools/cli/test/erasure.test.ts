import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  BehaviorEventSchema,
  DefaultPartitions,
  EventRecordSchema,
  EventType,
  encode,
  endOfRun,
  GroundTruthSchema,
  type Persona,
  TagSchema,
  Topics,
  TruthRecordSchema,
  userKey,
} from '@personastream/contracts';
import { createPersonaClient, type PersonaClient } from '@personastream/persona';
import { createLogger } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../src/pipeline/local.js';

/**
 * Erasure that reaches everything (issue 20, item 4), on the real stack: Kafka, Redis, ClickHouse
 * and the four services as processes. A few users stream live events and take part in a finite run
 * (so every ClickHouse table holds rows of theirs); one is erased; then nothing of that user may be
 * left in Redis (every key, every hash field and value), in any table of the stack's ClickHouse
 * database, or come back after the semantizer and persona restart and the user's old events are
 * sent again. The other users are untouched. Policy for events after the erasure: suppressed until
 * the user consents again (a CONSENT event after the erasure), then a fresh persona.
 */
const GAP_MS = 3_000;
const LATENESS_MS = 2_000;
const TICK_MS = 500;
const stamp = Date.now().toString(36);
const ACME = `erase-acme-${stamp}`;
const GLOBEX = `erase-globex-${stamp}`;
const PREFIX = `erase-${stamp}:`;
const DATABASE = `erase_${stamp.replace(/[^a-z0-9]/g, '')}`;
const PORTS = {
  semantizerOps: 29502,
  personaGrpc: 29551,
  personaOps: 29503,
  evaluatorHttp: 29581,
  ingestHttp: 29580,
  ingestOps: 29505,
};
const GONE = `gone-${stamp}`;
const KEEP = [`keep1-${stamp}`, `keep2-${stamp}`];
const USERS = [GONE, ...KEEP];
const RUN = `erase-run-${stamp}`;

let stack: LocalStack;
let acme: PersonaClient;
let globex: PersonaClient;
let redis: Redis;

beforeAll(async () => {
  stack = await startLocalStack({
    tenant: ACME,
    otherTenants: [GLOBEX],
    isolate: `erase-${stamp}`,
    ports: PORTS,
    logSuffix: '-erase-test',
    scoreAllUsers: true,
    env: {
      SEMANTIZER_GAP_MS: String(GAP_MS),
      SEMANTIZER_LATENESS_MS: String(LATENESS_MS),
      SEMANTIZER_TICK_MS: String(TICK_MS),
      SEMANTIZER_EARLY_EVERY_MS: '0',
      SEMANTIZER_CONCURRENCY: '4',
      SEMANTIZER_CHECKPOINT_PREFIX: PREFIX,
      PERSONA_REDIS_PREFIX: `${PREFIX}persona:`,
      INGEST_REDIS_PREFIX: `${PREFIX}ingest:`,
      CLICKHOUSE_DATABASE: DATABASE,
    },
  });
  acme = createPersonaClient(`127.0.0.1:${PORTS.personaGrpc}`, stack.tokens[ACME] as string);
  globex = createPersonaClient(`127.0.0.1:${PORTS.personaGrpc}`, stack.tokens[GLOBEX] as string);
  redis = new Redis(stack.infra.REDIS_URL as string);
}, 180_000);

afterAll(async () => {
  acme?.close();
  globex?.close();
  await stack?.stop();
  if (redis) {
    for await (const keys of redis.scanStream({ match: `${PREFIX}*`, count: 500 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
    redis.disconnect();
  }
  await clickhouse(`DROP DATABASE IF EXISTS ${DATABASE}`).catch(() => undefined);
}, 60_000);

async function clickhouse(sql: string): Promise<string> {
  const res = await fetch(`${stack.infra.CLICKHOUSE_URL}/`, { method: 'POST', body: sql });
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse: ${text}`);
  return text;
}

async function post(path: string, body?: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${PORTS.ingestHttp}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.tokens[ACME]}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A short shopping session of a user: item views one second apart from `start`. */
function session(userId: string, n: number, start: number, tag: string, type = 'item_view') {
  return Array.from({ length: n }, (_, k) => ({
    event_id: `${tag}-${userId}-${k}`,
    user_id: userId,
    event_time_ms: start + k * 1_000,
    type: k === 0 && type !== 'item_view' ? type : 'item_view',
    item: { id: `sku-${k % 3}`, category_path: ['Electronics', 'Audio', 'Headphones'], brand: 'Sony', price: 99 },
    dwell_ms: 30_000,
  }));
}

async function sendEvents(events: unknown[], runId?: string): Promise<void> {
  const res = await post('/v1/events', runId ? { run_id: runId, events } : { events });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Writes native events as the original event records straight to the events topic (a replay). */
async function replay(events: ReturnType<typeof session>): Promise<void> {
  const stream = createKafkaStream(
    { brokers: (stack.infra.KAFKA_BROKERS ?? '').split(','), clientId: 'erase-test' },
    { logger: createLogger('erase-test', 'warn') },
  );
  const producer = stream.producer();
  await producer.send(
    stack.topics.events,
    events.map((e) => ({
      key: userKey(ACME, e.user_id),
      value: encode(
        EventRecordSchema,
        create(EventRecordSchema, {
          kind: {
            case: 'event',
            value: create(BehaviorEventSchema, {
              eventId: e.event_id,
              tenant: ACME,
              userId: e.user_id,
              eventTimeMs: e.event_time_ms,
              type: EventType.ITEM_VIEW,
              item: { id: e.item.id, categoryPath: e.item.category_path, brand: e.item.brand, price: e.item.price },
              dwellMs: e.dwell_ms,
              runId: 'live',
            }),
          },
        }),
      ),
    })),
  );
  await producer.close();
}

/** Ground truth of the users (live and the finite run), and the finite run's truth markers. */
async function publishTruth(): Promise<void> {
  const stream = createKafkaStream(
    { brokers: (stack.infra.KAFKA_BROKERS ?? '').split(','), clientId: 'erase-test' },
    { logger: createLogger('erase-test', 'warn') },
  );
  const producer = stream.producer();
  const truth = (runId: string, userId: string) => ({
    key: userKey(ACME, userId),
    value: encode(
      TruthRecordSchema,
      create(TruthRecordSchema, {
        kind: {
          case: 'truth',
          value: create(GroundTruthSchema, {
            tenant: ACME,
            userId,
            runId,
            split: 'test',
            tags: [create(TagSchema, { dimension: 'primary_device', value: 'desktop' })],
          }),
        },
      }),
    ),
  });
  const n = DefaultPartitions[Topics.truth];
  const markers = Array.from({ length: n }, (_, partition) => ({
    key: `eor/${RUN}`,
    partition,
    value: encode(
      TruthRecordSchema,
      create(TruthRecordSchema, {
        kind: {
          case: 'endOfRun',
          value: endOfRun({
            runId: RUN,
            producer: 'erase-test',
            partition,
            totalPartitions: n,
            records: 0,
            tenant: ACME,
          }),
        },
      }),
    ),
  }));
  await producer.send(stack.topics.truth, [
    ...USERS.map((u) => truth('live', u)),
    ...USERS.map((u) => truth(RUN, u)),
    ...markers,
  ]);
  await producer.close();
}

async function personaOf(client: PersonaClient, userId: string): Promise<Persona | undefined> {
  try {
    return (await client.getPersona({ tenant: ACME, userId }, { timeoutMs: 3_000 })).persona;
  } catch (err) {
    if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
    throw err;
  }
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, withinMs: number): Promise<T> {
  const from = Date.now();
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() - from > withinMs)
      throw new Error(`${what}: not reached within ${withinMs} ms; last: ${show(last)}`);
    await new Promise((r) => setTimeout(r, 300));
    last = await read();
  }
  return last;
}

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)).slice(0, 2_000);
}

/** Every place in Redis (any key of any type: the key, hash fields and values, members, strings) that names `needle`. */
async function redisHits(needle: string): Promise<string[]> {
  const hits: string[] = [];
  const n = Buffer.from(needle);
  for await (const batch of redis.scanBufferStream({ count: 1_000 })) {
    for (const key of batch as Buffer[]) {
      const name = key.toString('latin1');
      if (key.includes(n)) hits.push(`key ${name}`);
      const type = await redis.type(key);
      if (type === 'string') {
        if ((await redis.getBuffer(key))?.includes(n)) hits.push(`value of ${name}`);
      } else if (type === 'hash') {
        const h = await redis.hgetallBuffer(key);
        for (const [f, v] of Object.entries(h)) {
          if (Buffer.from(f, 'latin1').includes(n) || f.includes(needle)) hits.push(`field of ${name}`);
          if ((v as Buffer).includes(n)) hits.push(`value of ${name} field ${f.slice(0, 80)}`);
        }
      } else if (type === 'set') {
        for (const m of await redis.smembersBuffer(key)) if (m.includes(n)) hits.push(`member of ${name}`);
      } else if (type === 'zset') {
        for (const m of await redis.zrangeBuffer(key, 0, -1)) if (m.includes(n)) hits.push(`member of ${name}`);
      } else if (type === 'list') {
        for (const m of await redis.lrangeBuffer(key, 0, -1)) if (m.includes(n)) hits.push(`element of ${name}`);
      }
    }
  }
  return hits;
}

/** Rows (per table of the stack's database, FINAL or not: unmerged parts count too) that name `needle` anywhere. */
async function clickhouseHits(needle: string): Promise<Record<string, number>> {
  const tables = (await clickhouse(`SELECT name FROM system.tables WHERE database = '${DATABASE}' FORMAT TSV`))
    .split('\n')
    .filter((t) => t !== '' && !t.startsWith('.'));
  const out: Record<string, number> = {};
  for (const t of tables) {
    const rows = await clickhouse(`SELECT * FROM ${DATABASE}.${t} FORMAT TSV`);
    const n = rows.split('\n').filter((line) => line.includes(needle)).length;
    if (n > 0) out[t] = n;
  }
  return out;
}

/** The rows of a user per table (what must stay for the users not erased). */
async function rowsOf(userId: string): Promise<Record<string, number>> {
  return clickhouseHits(userId);
}

/** The semantizer's `semantizer_dropped_total` of a reason (its /metrics). */
async function dropped(reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${PORTS.semantizerOps}/metrics`)).text();
  const m = new RegExp(`^semantizer_dropped_total\\{reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function substance(p: Persona | undefined) {
  return (
    p && { version: p.version, windows: p.windowsSeen, events: p.eventsSeen, summary: p.summary, tags: p.tags.length }
  );
}

describe('DeletePersona erases the user everywhere (real Kafka, Redis, ClickHouse)', () => {
  let erasedAt = 0;
  const start = Date.now() - 10 * 60_000;
  const oldEvents = session(GONE, 6, start, 'live');

  it('builds personas and rows for every user first', async () => {
    await publishTruth();
    await sendEvents([...oldEvents, ...KEEP.flatMap((u) => session(u, 6, start, 'live'))]);
    await sendEvents(
      USERS.flatMap((u) => session(u, 4, start - 3_600_000, 'run')),
      RUN,
    );
    expect((await post(`/v1/runs/${RUN}/end`)).status).toBe(200);
    const report = await stack.waitForReport(ACME, RUN, 90_000);
    expect(report.users).toBe(3);
    for (const u of USERS) {
      await until(
        `persona of ${u}`,
        () => personaOf(acme, u),
        (p) => (p?.windowsSeen ?? 0) >= 2,
        30_000,
      );
    }
    // every kind of store holds the user before the erasure (else the checks below would prove nothing)
    const rows = await until(
      'ClickHouse rows of the user',
      () => rowsOf(GONE),
      (r) => ['user_scores', 'convergence', 'latency', 'live_updates', 'evaluator_inbox'].every((t) => (r[t] ?? 0) > 0),
      30_000,
    );
    expect(Object.keys(rows).sort()).toEqual(
      expect.arrayContaining(['convergence', 'evaluator_inbox', 'latency', 'live_updates', 'user_scores']),
    );
    expect((await redisHits(GONE)).length).toBeGreaterThan(0);
  });

  it('refuses another tenant: erasure only by the user’s tenant', async () => {
    await expect(globex.deletePersona({ tenant: ACME, userId: GONE }, { timeoutMs: 3_000 })).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    // the other tenant's own (empty) namespace: nothing of ACME's user is touched
    expect((await globex.deletePersona({ userId: GONE }, { timeoutMs: 3_000 })).existed).toBe(false);
    expect(await personaOf(acme, GONE)).toBeDefined();
  });

  it('leaves nothing of the user in Redis or ClickHouse, and the other users untouched', async () => {
    const before = Object.fromEntries(
      await Promise.all(KEEP.map(async (u) => [u, substance(await personaOf(acme, u))])),
    );
    const rowsBefore = Object.fromEntries(await Promise.all(KEEP.map(async (u) => [u, await rowsOf(u)])));
    const t0 = Date.now();
    expect((await acme.deletePersona({ tenant: ACME, userId: GONE }, { timeoutMs: 5_000 })).existed).toBe(true);
    erasedAt = Date.now();
    expect(erasedAt).toBeGreaterThanOrEqual(t0);
    expect(await personaOf(acme, GONE)).toBeUndefined();
    await until(
      'no trace in Redis',
      () => redisHits(GONE),
      (h) => h.length === 0,
      30_000,
    );
    await until(
      'no trace in ClickHouse',
      () => clickhouseHits(GONE),
      (h) => Object.keys(h).length === 0,
      60_000,
    );
    const after = Object.fromEntries(
      await Promise.all(KEEP.map(async (u) => [u, substance(await personaOf(acme, u))])),
    );
    expect(after).toEqual(before);
    const rowsAfter = Object.fromEntries(await Promise.all(KEEP.map(async (u) => [u, await rowsOf(u)])));
    expect(rowsAfter).toEqual(rowsBefore);
  });

  it('no reload brings the user back: restarts and old events sent again', async () => {
    await stack.restart('semantizer');
    await stack.restart('persona');
    // the user's old event records again, as a replay of the topic would bring them (ingest would
    // de-duplicate them by id), and two late ones of the same session through ingest
    await replay(oldEvents);
    await sendEvents(session(GONE, 2, start + 30_000, 'late'));
    // long enough for the session to close on processing time (gap + lateness + ticks)
    await new Promise((r) => setTimeout(r, GAP_MS + LATENESS_MS + 4_000));
    // the semantizer (restarted: its count starts at 0) saw them and dropped them as erased
    expect(await dropped('erased')).toBe(oldEvents.length + 2);
    expect(await personaOf(acme, GONE)).toBeUndefined();
    expect(await redisHits(GONE)).toEqual([]);
    expect(await clickhouseHits(GONE)).toEqual({});
  });

  it('suppresses later events until the user consents again, then starts a fresh persona', async () => {
    const later = Date.now();
    await sendEvents(session(GONE, 3, later, 'after'));
    await new Promise((r) => setTimeout(r, GAP_MS + LATENESS_MS + 4_000));
    expect(await personaOf(acme, GONE)).toBeUndefined();
    expect(await dropped('suppressed')).toBe(3);
    expect(await redisHits(`after-${GONE}`)).toEqual([]);

    const consented = Date.now();
    await sendEvents(session(GONE, 4, consented, 'consent', 'consent'));
    const fresh = await until(
      'a fresh persona after consent',
      () => personaOf(acme, GONE),
      (p) => p !== undefined && !p.early,
      GAP_MS + LATENESS_MS + 15_000,
    );
    expect(fresh?.windowsSeen).toBe(1);
    expect(fresh?.eventsSeen).toBe(4);
    expect(fresh?.version).toBe(1);
  });
});
