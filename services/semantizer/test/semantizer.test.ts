import { entryMsOf } from '@personastream/contracts';
import { createLogger, createRegistry } from '@personastream/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCheckpointStore } from '../src/adapters/checkpoints.js';
import { defaultSemantizerConfig } from '../src/config.js';
import { semantizeEvents } from '../src/core/semantizer.js';
import { createSemantizerService, DlqHeaders } from '../src/service.js';
import { generateEvents } from '../src/testing/generator.js';
import { endOfRunRecords, eventRecord, readWindows } from '../src/testing/records.js';
import { allMarkers, deleteKeys, infraEnv, kafka, redis, TopicReader, testNames, windowSet } from './helpers.js';

infraEnv();

describe('semantizer on the real Kafka and Redis', () => {
  const names = testNames('plain');
  const r = redis();
  afterAll(async () => {
    await deleteKeys(r, names.prefix);
    r.disconnect();
  });

  it('events in → windows and forwarded markers out, bad records to the DLQ with headers, checkpoints in Redis', async () => {
    const stream = kafka('it-semantizer');
    const admin = stream.admin();
    await admin.ensureTopics([
      { topic: names.topics.events, partitions: 4 },
      { topic: names.topics.windows, partitions: 4 },
      { topic: names.topics.dlq, partitions: 1 },
    ]);
    await admin.close();
    const runId = `run-${names.id}`;
    const events = generateEvents({ users: 10, days: 3, seed: 41, runId });
    const expected = windowSet(semantizeEvents(events).windows);

    const config = { ...defaultSemantizerConfig, topics: names.topics, groupId: names.groupId };
    const checkpoints = new RedisCheckpointStore(redis(), { prefix: names.prefix });
    const service = createSemantizerService(config, {
      stream,
      checkpoints,
      logger: createLogger('semantizer', process.env.TEST_LOG_LEVEL ?? 'error'),
      registry: createRegistry('semantizer', false),
    });
    const reader = new TopicReader(stream, names.topics.windows, `${names.groupId}.reader`);
    const dlqReader = new TopicReader(stream, names.topics.dlq, `${names.groupId}.dlq-reader`);
    await Promise.all([reader.start(), dlqReader.start(), service.start()]);
    let sentFrom = 0;
    let sentTo = 0;
    try {
      const producer = stream.producer();
      sentFrom = Date.now();
      await producer.send(names.topics.events, [
        ...events.map(eventRecord),
        { key: 'demo/broken', value: new TextEncoder().encode('{"eventId":"x"'), headers: { 'ps-malformed': '1' } },
        { key: 'demo/garbage', value: new Uint8Array([0x0a, 0xff, 0xff, 0xff]) },
      ]);
      sentTo = Date.now();
      await producer.send(names.topics.events, endOfRunRecords(runId, 4));
      await producer.close();
      await reader.until(allMarkers(runId, 4), 'end-of-run markers on all 4 window partitions');
      await dlqReader.until((rs) => rs.length >= 2, 'two DLQ records');
      expect(service.health()).toBe(true);
    } finally {
      await service.stop();
      await reader.stop();
      await dlqReader.stop();
    }

    const { windows, markers } = readWindows(reader.records);
    expect(windowSet(windows.map((w) => w.window))).toEqual(expected);
    for (const w of windows) expect(w.key).toBe(`${w.window.tenant}/${w.window.userId}`);
    // Entry time: the newest event's Kafka record timestamp (producer create time), as a header.
    for (const rec of reader.records) {
      if (rec.key.startsWith('eor/')) continue;
      expect(entryMsOf(rec.headers)).toSatisfy((t: number) => t >= sentFrom && t <= sentTo);
    }
    expect(markers).toHaveLength(4);
    for (const { partition, marker } of markers) {
      expect(marker).toMatchObject({ runId, producer: 'semantizer', partition, totalPartitions: 4, tenant: 'demo' });
      expect(marker.records).toBe(windows.filter((w) => w.partition === partition).length);
    }
    const dlq = dlqReader.records;
    const byKey = new Map(dlq.map((d) => [d.key, d]));
    expect(byKey.get('demo/broken')?.headers).toMatchObject({
      [DlqHeaders.reason]: 'malformed_event',
      [DlqHeaders.step]: 'decode',
      [DlqHeaders.sourceTopic]: names.topics.events,
      'ps-malformed': '1',
    });
    expect(new TextDecoder().decode(byKey.get('demo/broken')?.value)).toBe('{"eventId":"x"');
    expect(byKey.get('demo/garbage')?.headers[DlqHeaders.reason]).toBe('invalid_protobuf');
    for (const d of dlq) {
      expect(d.headers[DlqHeaders.sourcePartition]).toMatch(/^[0-3]$/);
      expect(d.headers[DlqHeaders.sourceOffset]).toMatch(/^\d+$/);
    }
    // Checkpoints: one hash per partition, at the last offset, with the ended run's state gone.
    for (let p = 0; p < 4; p++) {
      const cp = await checkpoints.load({ group: names.groupId, topic: names.topics.events, partition: p });
      expect(cp?.offset).toMatch(/^\d+$/);
      expect(Object.keys(cp?.fields ?? {})).toEqual([]);
      expect(cp?.meta).toContain(runId);
    }
    await checkpoints.close();
  });

  it('RedisCheckpointStore: atomic deltas, refuses to go back to an older offset', async () => {
    const store = new RedisCheckpointStore(redis(), { prefix: names.prefix });
    const scope = { group: 'g', topic: 't\u0000x', partition: 3 };
    expect(await store.load(scope)).toBeUndefined();
    expect(
      await store.save(scope, {
        offset: '10',
        meta: 'm1',
        set: ['U\u0000a', '1', 'P\u0000r\u0000k', '2'],
        del: [],
        delPrefixes: [],
      }),
    ).toBe(true);
    expect(
      await store.save(scope, {
        offset: '12',
        meta: 'm2',
        set: ['U\u0000b', '3'],
        del: ['U\u0000a'],
        delPrefixes: [],
      }),
    ).toBe(true);
    expect(
      await store.save(scope, { offset: '11', meta: 'old', set: ['U\u0000c', 'x'], del: [], delPrefixes: [] }),
    ).toBe(false);
    expect(await store.load(scope)).toEqual({
      offset: '12',
      meta: 'm2',
      fields: { 'P\u0000r\u0000k': '2', 'U\u0000b': '3' },
    });
    expect(
      await store.save(scope, { offset: '12', meta: 'm3', set: [], del: [], delPrefixes: ['P\u0000r\u0000'] }),
    ).toBe(true);
    expect(await store.load(scope)).toEqual({ offset: '12', meta: 'm3', fields: { 'U\u0000b': '3' } });
    // deltas larger than one HSET / HDEL call of the script
    const many = Array.from({ length: 2500 }, (_, i) => [`P\u0000r\u0000${i}`, `[${i}]`]).flat();
    expect(await store.save(scope, { offset: '13', meta: 'm4', set: many, del: [], delPrefixes: [] })).toBe(true);
    const gone = Array.from({ length: 2100 }, (_, i) => `P\u0000r\u0000${i}`);
    expect(await store.save(scope, { offset: '14', meta: 'm5', set: [], del: gone, delPrefixes: [] })).toBe(true);
    const left = await store.load(scope);
    expect(Object.keys(left?.fields ?? {}).length).toBe(401);
    expect(left?.fields['P\u0000r\u00002499']).toBe('[2499]');
    expect(left?.fields['U\u0000b']).toBe('3');
    // a field without its value is refused, not half-applied
    await expect(
      store.save(scope, { offset: '15', meta: 'm6', set: ['U\u0000d'], del: [], delPrefixes: [] }),
    ).rejects.toThrow(/field, value pairs/);
    expect((await store.load(scope))?.meta).toBe('m5');
    await store.clear(scope);
    expect(await store.load(scope)).toBeUndefined();
    await store.close();
  });

  it('RedisCheckpointStore: the idle store is written with the delta, read by field only, never by load', async () => {
    const store = new RedisCheckpointStore(redis(), { prefix: names.prefix });
    const scope = { group: 'g', topic: 'idle', partition: 1 };
    const idleSet = Array.from({ length: 3000 }, (_, i) => [`live\u0000acme/u${i}`, `{"seq":${i}}`]).flat();
    expect(
      await store.save(scope, { offset: '5', meta: 'm', set: ['U\u0000x', '1'], del: [], delPrefixes: [], idleSet }),
    ).toBe(true);
    const cp = await store.load(scope);
    expect(Object.keys(cp?.fields ?? {})).toEqual(['U\u0000x']);
    expect(await store.loadIdle(scope, ['live\u0000acme/u2999', 'live\u0000acme/nobody', 'live\u0000acme/u0'])).toEqual(
      ['{"seq":2999}', undefined, '{"seq":0}'],
    );
    // refused together with a stale offset: nothing of the idle part lands either
    expect(
      await store.save(scope, {
        offset: '4',
        meta: 'old',
        set: [],
        del: [],
        delPrefixes: [],
        idleSet: ['live\u0000acme/late', '{}'],
      }),
    ).toBe(false);
    expect(await store.loadIdle(scope, ['live\u0000acme/late'])).toEqual([undefined]);
    await store.clear(scope);
    expect(await store.loadIdle(scope, ['live\u0000acme/u0'])).toEqual([undefined]);
    await store.close();
  });

  it('RedisCheckpointStore: reads a checkpoint the previous version wrote, and moves it on the first save', async () => {
    const client = redis();
    const store = new RedisCheckpointStore(client, { prefix: names.prefix });
    const scope = { group: 'g', topic: 'legacy', partition: 0 };
    const old = store.legacyKey(scope);
    expect(old).not.toBe(store.key(scope));
    await client.hset(old, '~offset', '41', '~meta', '{"v":1}', 'U\u0000r\u0000t/u', '{}');
    const cp = await store.load(scope);
    expect(cp).toEqual({ offset: '41', meta: '{"v":1}', fields: { 'U\u0000r\u0000t/u': '{}' }, legacy: true });
    expect(
      await store.save(scope, {
        offset: '42',
        meta: '{"v":2}',
        set: ['U\u0000r\u0000t/u', '{}'],
        del: [],
        delPrefixes: [],
      }),
    ).toBe(true);
    expect(await client.exists(old)).toBe(0);
    expect(await store.load(scope)).toEqual({ offset: '42', meta: '{"v":2}', fields: { 'U\u0000r\u0000t/u': '{}' } });
    await store.clear(scope);
    await store.close();
  });
});
