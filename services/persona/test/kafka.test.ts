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
import { syntheticEarlyWindow, syntheticUsers } from '../src/core/synthetic.js';
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

function windowRecordWith(w: SemantizedWindow, headers: Record<string, string>): OutRecord {
  return { ...windowRecord(w), headers };
}

function markerRecords(runId: string, tenant: string, topicPartitions: number): OutRecord[] {
  return Array.from({ length: topicPartitions }, (_, p) => ({
    key: `eor/${runId}`,
    partition: p,
    value: toBinary(
      WindowRecordSchema,
      create(WindowRecordSchema, {
        kind: {
          case: 'endOfRun',
          value: endOfRun({ runId, partition: p, totalPartitions: topicPartitions, producer: 'semantizer', tenant }),
        },
      }),
    ),
  }));
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

describe('persona service on Kafka: tenant-scoped runs and early windows', () => {
  it("counts each tenant's run on its own (same run id), and publishes early windows' updates with their fields", async () => {
    const own = { windows: `${topics.windows}.tenants`, updates: `${topics.updates}.tenants` };
    const admin = stream.admin();
    await admin.ensureTopics([
      { topic: own.windows, partitions: PARTITIONS },
      { topic: own.updates, partitions: PARTITIONS },
    ]);
    await admin.close();
    const run = `shared-${suffix}`;
    const of = (tenant: string, seed: number) =>
      syntheticUsers({ users: 4, seed, tenant, windowsPerUser: 3 }).map((u) =>
        u.windows.map((w) => create(SemantizedWindowSchema, { ...w, runId: run, userId: `tenants-${u.userId}` })),
      );
    const acme = of('acme', 51);
    const globex = of('globex', 52);
    // One acme user's last session is first shown by two early windows (entry headers as the semantizer writes them).
    const live = acme[0] as SemantizedWindow[];
    const f2 = live[2] as SemantizedWindow;
    const early = [syntheticEarlyWindow(f2, 1, 0.4), syntheticEarlyWindow(f2, 2, 0.8)];
    const now = Date.now();
    const records: OutRecord[] = [];
    for (const ws of [...acme, ...globex]) {
      for (const w of ws) {
        if (w === f2) {
          for (const [k, e] of early.entries()) {
            records.push(
              windowRecordWith(e, { 'ps-entry-ms': String(now - 100), 'ps-entry-first-ms': String(now - 900 + k) }),
            );
          }
          records.push(windowRecordWith(w, { 'ps-entry-ms': String(now) }));
        } else records.push(windowRecord(w));
      }
    }
    const producer = stream.producer();
    await producer.send(own.windows, records);
    // Only acme's run ends here: its markers must count acme's updates only.
    await producer.send(own.windows, markerRecords(run, 'acme', PARTITIONS));
    await producer.close();

    const received: Array<{ partition: number; rec: PersonaUpdateRecord }> = [];
    const seenOffsets = new Set<string>();
    const markers = new Set<number>();
    let resolveAll: () => void = () => {};
    const allMarkers = new Promise<void>((r) => {
      resolveAll = r;
    });
    const reader = stream.consumer({ groupId: `persona-tenants-reader-${suffix}`, topics: [own.updates] });
    await reader.start(async (batch) => {
      for (const r of batch.records) {
        const id = `${r.partition}/${r.offset}`;
        if (seenOffsets.has(id)) continue;
        seenOffsets.add(id);
        const rec = fromBinary(PersonaUpdateRecordSchema, r.value);
        received.push({ partition: r.partition, rec });
        if (rec.kind.case === 'endOfRun') markers.add(r.partition);
      }
      if (markers.size === PARTITIONS) resolveAll();
    });
    const service2 = createPersonaService(
      { topics: own, groupId: `persona-tenants-${suffix}` },
      {
        stream,
        store,
        backend: createBuiltinBackend(loadModel()),
        logger: silentLogger(),
        registry: createRegistry('persona-tenants-test', false),
      },
    );
    await service2.start();
    await Promise.race([
      allMarkers,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`markers seen: ${[...markers]}`)), 90_000)),
    ]);
    await service2.stop();
    await reader.stop();

    const updates = received.flatMap((o) =>
      o.rec.kind.case === 'update' ? [{ p: o.partition, u: o.rec.kind.value }] : [],
    );
    expect(updates).toHaveLength(24 + 2);
    for (let p = 0; p < PARTITIONS; p++) {
      const marker = received.find((o) => o.partition === p && o.rec.kind.case === 'endOfRun')?.rec;
      if (marker?.kind.case !== 'endOfRun') throw new Error(`no marker on partition ${p}`);
      expect(marker.kind.value.tenant).toBe('acme');
      const acmeHere = updates.filter((x) => x.p === p && x.u.persona?.tenant === 'acme').length;
      expect(marker.kind.value.records).toBe(acmeHere);
    }
    expect(updates.some((x) => x.u.persona?.tenant === 'globex')).toBe(true);
    const mine = updates
      .filter((x) => x.u.persona?.userId === f2.userId && x.u.persona?.tenant === 'acme')
      .map((x) => x.u);
    expect(mine.map((x) => [x.windowId, x.early, x.persona?.early, x.firstEntryMs])).toEqual([
      [live[0]?.windowId, false, false, 0],
      [live[1]?.windowId, false, false, 0],
      [early[0]?.windowId, true, true, now - 900],
      [early[1]?.windowId, true, true, now - 899],
      [f2.windowId, false, false, 0],
    ]);
    expect((await store.getState('acme', f2.userId))?.stats.windows).toBe(3);
    const cleanup = stream.admin();
    await cleanup.deleteTopics([own.windows, own.updates]);
    await cleanup.close();
  });
});
