import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  endOfRun,
  type PersonaUpdateRecord,
  PersonaUpdateRecordSchema,
  partitionForKey,
  type SemantizedWindow,
  SemantizedWindowSchema,
  userKey,
  WindowRecordSchema,
} from '@personastream/contracts';
import { createRegistry, deleteKeysWithPrefix, silentLogger } from '@personastream/runtime';
import { createKafkaStream, type OutRecord, type Stream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisPersonaStore } from '../src/adapters/redis-store.js';
import { createBuiltinBackend } from '../src/core/builtin/backend.js';
import { syntheticUsers } from '../src/core/synthetic.js';
import { loadModel } from '../src/model-file.js';
import { createPersonaService, type PersonaService } from '../src/service.js';
import { requireEnv, uniqueSuffix } from './helpers.js';

// Real Kafka + real Redis: windows in on a test topic → updates out, end-of-run markers forwarded.
const brokers = requireEnv('KAFKA_BROKERS').split(',');
const redisUrl = requireEnv('REDIS_URL');
const suffix = uniqueSuffix();
const topics = { windows: `test.persona.windows.${suffix}`, updates: `test.persona.updates.${suffix}` };
const prefix = `ps:test:kafka:${suffix}:`;
const runId = `run-${suffix}`;
const PARTITIONS = 4;

let stream: Stream;
let redis: Redis;
let store: RedisPersonaStore;
let service: PersonaService;

function windowRecord(w: SemantizedWindow): OutRecord {
  return {
    key: userKey(w.tenant, w.userId),
    value: toBinary(WindowRecordSchema, create(WindowRecordSchema, { kind: { case: 'window', value: w } })),
  };
}

beforeAll(async () => {
  const logger = silentLogger();
  stream = createKafkaStream({ brokers, clientId: `persona-test-${suffix}` }, { logger });
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: topics.windows, partitions: PARTITIONS },
    { topic: topics.updates, partitions: PARTITIONS },
  ]);
  await admin.close();
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  store = new RedisPersonaStore({ client: redis, keyPrefix: prefix });
  service = createPersonaService(
    { topics, groupId: `persona-test-${suffix}` },
    {
      stream,
      store,
      backend: createBuiltinBackend(loadModel()),
      logger,
      registry: createRegistry('persona-kafka-test', false),
    },
  );
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  if (stream) {
    const admin = stream.admin();
    await admin.deleteTopics([topics.windows, topics.updates]);
    await admin.close();
  }
  if (redis) {
    await deleteKeysWithPrefix(redis, prefix);
  }
  await store?.close();
  await redis?.quit();
});

describe('persona service on Kafka', () => {
  it('turns windows into updates (duplicates publish nothing) and forwards end-of-run markers after them', async () => {
    const users = syntheticUsers({ users: 12, seed: 33, tenant: 'acme', windowsPerUser: 5 }).map((u) => ({
      ...u,
      windows: u.windows.map((w) => create(SemantizedWindowSchema, { ...w, runId })),
    }));
    const windows = users.flatMap((u) => u.windows);
    const producer = stream.producer();
    await producer.send(topics.windows, windows.map(windowRecord));
    await producer.send(topics.windows, windows.slice(0, 7).map(windowRecord)); // redelivered upstream
    await producer.send(
      topics.windows,
      Array.from({ length: PARTITIONS }, (_, p) => ({
        key: `eor/${runId}`,
        partition: p,
        value: toBinary(
          WindowRecordSchema,
          create(WindowRecordSchema, {
            kind: {
              case: 'endOfRun',
              value: endOfRun({
                runId,
                partition: p,
                totalPartitions: PARTITIONS,
                producer: 'semantizer',
                tenant: 'acme',
              }),
            },
          }),
        ),
      })),
    );
    await producer.close();

    const received: Array<{ partition: number; rec: PersonaUpdateRecord }> = [];
    const markers = new Set<number>();
    const seenOffsets = new Set<string>();
    const consumer = stream.consumer({ groupId: `persona-test-reader-${suffix}`, topics: [topics.updates] });
    let resolveAll: () => void = () => {};
    const allMarkers = new Promise<void>((r) => {
      resolveAll = r;
    });
    await consumer.start(async (batch) => {
      for (const r of batch.records) {
        // The reader may see a record again (at-least-once); keep each offset once.
        const id = `${r.partition}/${r.offset}`;
        if (seenOffsets.has(id)) continue;
        seenOffsets.add(id);
        const rec = fromBinary(PersonaUpdateRecordSchema, r.value);
        received.push({ partition: r.partition, rec });
        if (rec.kind.case === 'endOfRun' && rec.kind.value.runId === runId) markers.add(r.partition);
      }
      if (markers.size === PARTITIONS) resolveAll();
    });
    await Promise.race([
      allMarkers,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`markers seen: ${[...markers]}`)), 90_000)),
    ]);
    await consumer.stop();

    const updates = received.filter((o) => o.rec.kind.case === 'update');
    expect(updates).toHaveLength(windows.length);
    for (let p = 0; p < PARTITIONS; p++) {
      const inP = received.filter((o) => o.partition === p);
      const last = inP[inP.length - 1]?.rec;
      expect(last?.kind.case).toBe('endOfRun');
      if (last?.kind.case === 'endOfRun') {
        expect(last.kind.value.producer).toBe('persona');
        expect(last.kind.value.records).toBe(inP.length - 1);
      }
    }
    for (const u of users) {
      const mine = updates
        .map((o) => (o.rec.kind.case === 'update' ? o.rec.kind.value : undefined))
        .filter((up) => up?.persona?.userId === u.userId);
      expect(mine.map((m) => m?.persona?.version)).toEqual([1, 2, 3, 4, 5]);
      expect(mine.every((m) => m?.runId === runId)).toBe(true);
      const p = updates.find(
        (o) => o.rec.kind.case === 'update' && o.rec.kind.value.persona?.userId === u.userId,
      )?.partition;
      expect(p).toBe(partitionForKey(userKey('acme', u.userId), PARTITIONS));
      expect((await store.get('acme', u.userId))?.version).toBe(5);
    }
  });

  it('replays after a crash between the Redis write and the offset commit without applying anything twice', async () => {
    const crash = { windows: `${topics.windows}.crash`, updates: `${topics.updates}.crash` };
    const admin = stream.admin();
    await admin.ensureTopics([
      { topic: crash.windows, partitions: PARTITIONS },
      { topic: crash.updates, partitions: PARTITIONS },
    ]);
    await admin.close();
    const users = syntheticUsers({ users: 3, seed: 44, tenant: 'crash', windowsPerUser: 4 });
    const windows = users.flatMap((u) => u.windows);
    // One user's window repeated inside the same send (and so, most likely, the same batch).
    const first = windows[0] as SemantizedWindow;
    const producer = stream.producer();
    await producer.send(crash.windows, [...windows, first].map(windowRecord));
    await producer.close();

    // Instance A writes Redis, then "crashes": its produce of the updates never succeeds, so it
    // never commits an offset.
    let failedSends = 0;
    const failing: Stream = {
      ...stream,
      producer: () => {
        const p = stream.producer();
        return {
          send: async (topic, records) => {
            if (topic === crash.updates) {
              failedSends++;
              throw new Error('crashed before the produce was acknowledged');
            }
            return p.send(topic, records);
          },
          close: p.close,
        };
      },
      consumer: (o) => stream.consumer(o),
      admin: () => stream.admin(),
    };
    const deps = (s: Stream) => ({
      stream: s,
      store,
      backend: createBuiltinBackend(loadModel()),
      logger: silentLogger(),
      registry: createRegistry('persona-crash-test', false),
    });
    const groupId = `persona-crash-${suffix}`;
    const a = createPersonaService({ topics: crash, groupId }, deps(failing));
    await a.start();
    const written = async () =>
      (await Promise.all(users.map((u) => store.get('crash', u.userId)))).every((p) => p?.version === 4);
    for (let i = 0; i < 600 && !((await written()) && failedSends > 0); i++)
      await new Promise((r) => setTimeout(r, 100));
    await a.stop();
    expect(await written()).toBe(true);

    // Instance B (same group) gets the windows again: nothing is applied twice, and the updates A
    // wrote but never published are published now, once.
    const received: PersonaUpdateRecord[] = [];
    const seen = new Set<string>();
    const reader = stream.consumer({ groupId: `persona-crash-reader-${suffix}`, topics: [crash.updates] });
    await reader.start(async (batch) => {
      for (const r of batch.records) {
        const id = `${r.partition}/${r.offset}`;
        if (seen.has(id)) continue;
        seen.add(id);
        received.push(fromBinary(PersonaUpdateRecordSchema, r.value));
      }
    });
    const b = createPersonaService({ topics: crash, groupId }, deps(stream));
    await b.start();
    for (let i = 0; i < 600 && received.length < windows.length; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000)); // anything extra would arrive now
    await b.stop();
    await reader.stop();
    expect(received).toHaveLength(windows.length);
    for (const u of users) {
      const mine = received.flatMap((r) =>
        r.kind.case === 'update' && r.kind.value.persona?.userId === u.userId ? [r.kind.value] : [],
      );
      expect(mine.map((m) => m.persona?.version)).toEqual([1, 2, 3, 4]);
      expect(mine.map((m) => m.windowId)).toEqual(u.windows.map((w) => w.windowId));
      expect((await store.get('crash', u.userId))?.version).toBe(4);
      // Every pending output was acknowledged after B published it.
      const fields = await redis.hkeys(store.keys('crash', u.userId).state);
      expect(fields.filter((f) => f.startsWith('p:'))).toEqual([]);
    }
    const cleanup = stream.admin();
    await cleanup.deleteTopics([crash.windows, crash.updates]);
    await cleanup.close();
  });
});
