import { randomUUID } from 'node:crypto';
import { partitionForKey } from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaStream } from '../src/kafka.js';
import type { FetchOptions, InRecord, StreamConsumer } from '../src/types.js';

const brokers = process.env.KAFKA_BROKERS;
if (!brokers) throw new Error('KAFKA_BROKERS is not set: run "npx personastream infra up" and source .infra/env');

const stream = createKafkaStream({ brokers: brokers.split(','), clientId: 'it-stream' }, { logger: silentLogger() });
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const consumers: StreamConsumer[] = [];

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
});

/** Consumes until `until` holds, collecting records. */
async function collect(
  topic: string,
  groupId: string,
  until: (seen: InRecord[]) => boolean,
  failFirst = 0,
  fetch?: FetchOptions,
) {
  const seen: InRecord[] = [];
  let failures = failFirst;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const consumer = stream.consumer({ groupId, topics: [topic], fetch });
  consumers.push(consumer);
  await consumer.start(async (batch) => {
    if (failures-- > 0) throw new Error('transient failure');
    seen.push(...batch.records);
    if (until(seen)) done();
  });
  await finished;
  await consumer.stop();
  return seen;
}

describe('Kafka adapter of the Stream interface (real broker)', () => {
  it('partitions by key like the memory broker, keeps per-key order, and commits after the handler', async () => {
    const topic = `it.stream.${randomUUID()}`;
    const admin = stream.admin();
    await admin.ensureTopics([{ topic, partitions: 3 }]);
    expect(await admin.partitionCount(topic)).toBe(3);
    const producer = stream.producer();
    const records = Array.from({ length: 60 }, (_, i) => ({
      key: `t/u${i % 5}`,
      value: new TextEncoder().encode(`${i}`),
    }));
    await producer.send(topic, records);
    await producer.send(topic, [{ key: 'marker', value: new TextEncoder().encode('end'), partition: 2 }]);

    const groupId = `it-${randomUUID()}`;
    // the first batch fails once: at-least-once redelivers it (and maybe more), nothing is lost
    const distinct = (s: InRecord[]) => new Set(s.map((r) => `${r.partition}:${r.offset}`)).size;
    const seen = await collect(topic, groupId, (s) => distinct(s) >= 61, 1);
    expect(distinct(seen)).toBe(61);
    for (const r of seen) {
      if (r.key !== 'marker') expect(r.partition).toBe(partitionForKey(r.key, 3));
    }
    expect(seen.find((r) => r.key === 'marker')?.partition).toBe(2);
    // one key's records are stored in the order they were sent, and each delivery is in offset order
    const u0 = new Map(seen.filter((r) => r.key === 't/u0').map((r) => [Number(r.offset), Number(text(r.value))]));
    const byOffset = [...u0.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    expect(byOffset).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]);

    // a fresh group without failures gets every record exactly once (the fetcher moves past handled batches)
    const fresh = await collect(topic, `it-${randomUUID()}`, (s) => s.length >= 61);
    await new Promise((r) => setTimeout(r, 500));
    expect(fresh).toHaveLength(61);

    // the same group resumes after the committed offsets: only new records arrive
    await producer.send(topic, [{ key: 't/u1', value: new TextEncoder().encode('late') }]);
    const again = await collect(topic, groupId, (s) => s.length >= 1);
    expect(again.map((r) => text(r.value))).toEqual(['late']);
    await producer.close();
    await admin.close();
  });

  it('handles a partition batch by batch, in order, and fetches a failed batch again after a delay', async () => {
    const topic = `it.stream.retry.${randomUUID()}`;
    const admin = stream.admin();
    await admin.ensureTopics([{ topic, partitions: 1 }]);
    const producer = stream.producer();
    // eight sends: eight record batches, one per fetch with a tiny fetch size
    for (let s = 0; s < 8; s++) {
      await producer.send(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: new TextEncoder().encode(`${s * 5 + i}`) })),
      );
    }
    const handled: string[] = [];
    const calls: { offsets: string[]; at: number; failed: boolean }[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const consumer = stream.consumer({
      groupId: `it-${randomUUID()}`,
      topics: [topic],
      fetch: { maxBytesPerPartition: 64 },
    });
    consumers.push(consumer);
    await consumer.start(async (batch) => {
      const offsets = batch.records.map((r) => r.offset);
      // the third batch fails once, after the next fetch could have started
      const failed = calls.length === 2;
      calls.push({ offsets, at: performance.now(), failed });
      await new Promise((r) => setTimeout(r, 20));
      if (failed) throw new Error('transient failure');
      handled.push(...offsets);
      if (handled.length >= 40) done();
    });
    await finished;
    await consumer.stop();
    // every record once, in offset order: nothing after the failed batch was handled before it
    expect(handled).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
    const failure = calls.findIndex((c) => c.failed);
    const retry = calls.findIndex((c, i) => i > failure && c.offsets[0] === calls[failure]?.offsets[0]);
    expect(failure).toBe(2);
    expect(retry).toBeGreaterThan(failure);
    // the retry waited for the delay (200 ms for a first failure), measured from the failing call's start
    expect((calls[retry]?.at ?? 0) - (calls[failure]?.at ?? 0)).toBeGreaterThanOrEqual(200);
    await admin.deleteTopics([topic]);
    await producer.close();
    await admin.close();
  });

  it('names the missing topic when producing to it', async () => {
    const producer = stream.producer();
    await expect(producer.send(`it.missing.${randomUUID()}`, [{ key: 'k', value: new Uint8Array() }])).rejects.toThrow(
      /does not exist/,
    );
    await producer.close();
  });

  it('sends a batch larger than one request in order, with headers, and deletes topics', async () => {
    const topic = `it.stream.big.${randomUUID()}`;
    const admin = stream.admin();
    await admin.ensureTopics([{ topic, partitions: 3 }]);
    const producer = stream.producer();
    // ~5 MB: several produce requests (each partition's batch stays under message.max.bytes)
    const payload = new Uint8Array(900).fill(7);
    const records = Array.from({ length: 5500 }, (_, i) => ({
      key: `t/u${i % 7}`,
      value: new Uint8Array([...new TextEncoder().encode(`${i}|`), ...payload]),
      headers: i % 100 === 0 ? { 'ps-note': `n${i}`, 'ps-empty': '' } : undefined,
    }));
    await producer.send(topic, records);
    // small fetches (several per partition) with a minimum size and wait: same records, same order
    const seen = await collect(topic, `it-${randomUUID()}`, (s) => s.length >= records.length, 0, {
      maxBytesPerPartition: 64 * 1024,
      minBytes: 1024,
      maxWaitMs: 50,
    });
    expect(seen).toHaveLength(records.length);
    const indexOf = (r: InRecord) => Number(text(r.value.subarray(0, r.value.indexOf(0x7c))));
    for (const r of seen) {
      const i = indexOf(r);
      expect(r.key).toBe(`t/u${i % 7}`);
      expect(r.partition).toBe(partitionForKey(r.key, 3));
      expect(r.value.byteLength).toBe((records[i] as { value: Uint8Array }).value.byteLength);
      if (i % 100 === 0) expect(r.headers).toEqual({ 'ps-note': `n${i}`, 'ps-empty': '' });
      else expect(r.headers).toEqual({});
    }
    // each key's records are stored in the order they were sent
    for (let k = 0; k < 7; k++) {
      const order = seen
        .filter((r) => r.key === `t/u${k}`)
        .sort((a, b) => Number(a.offset) - Number(b.offset))
        .map(indexOf);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(order).toHaveLength(records.filter((_, i) => i % 7 === k).length);
    }
    await producer.close();
    await admin.deleteTopics([topic, `it.never.${randomUUID()}`]);
    // deletion propagates to the metadata shortly after the call returns
    // (a fresh client each time: a stream caches partition counts it has seen)
    const gone = async () => {
      const fresh = createKafkaStream(
        { brokers: (brokers as string).split(','), clientId: 'it-stream-check' },
        { logger: silentLogger() },
      ).admin();
      try {
        await fresh.partitionCount(topic);
        return false;
      } catch (err) {
        return /does not exist/.test((err as Error).message);
      } finally {
        await fresh.close();
      }
    };
    for (let i = 0; i < 50 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await gone()).toBe(true);
    await admin.close();
  });
});

describe('consumer group lag', () => {
  it('is the records not yet committed, per partition, and a consumer exports it as a gauge', async () => {
    const topic = `it.lag.${randomUUID()}`;
    const groupId = `it-lag-${randomUUID()}`;
    const admin = stream.admin();
    await admin.ensureTopics([{ topic, partitions: 2 }]);
    const producer = stream.producer();
    await producer.send(
      topic,
      Array.from({ length: 9 }, (_, i) => ({ key: `k${i}`, value: new TextEncoder().encode(String(i)) })),
    );
    const before = await admin.groupLag(groupId, [topic]);
    expect(before.map((l) => l.partition)).toEqual([0, 1]);
    expect(before.reduce((n, l) => n + l.lag, 0)).toBe(9);

    const registry = createRegistry('it-lag', false);
    const watched = createKafkaStream(
      { brokers: (brokers as string).split(','), clientId: 'it-lag' },
      { logger: silentLogger(), registry, lagIntervalMs: 100 },
    );
    let seen = 0;
    const consumer = watched.consumer({ groupId, topics: [topic] });
    await consumer.start(async (batch) => {
      seen += batch.records.length;
    });
    const gaugeTotal = async () => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'personastream_consumer_lag');
      const values = (metric?.values ?? []).filter((v) => v.labels.group === groupId && v.labels.topic === topic);
      return values.length === 2 ? values.reduce((n, v) => n + v.value, 0) : undefined;
    };
    const deadline = Date.now() + 30_000;
    while ((seen < 9 || (await gaugeTotal()) !== 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(seen).toBe(9);
    expect(await gaugeTotal()).toBe(0);
    expect((await admin.groupLag(groupId, [topic])).reduce((n, l) => n + l.lag, 0)).toBe(0);
    await consumer.stop();

    await producer.send(topic, [{ key: 'late', value: new TextEncoder().encode('x') }]);
    expect((await admin.groupLag(groupId, [topic])).reduce((n, l) => n + l.lag, 0)).toBe(1);
    // a deleted group keeps no committed offsets: its lag counts from the start again
    await admin.deleteGroups([groupId, `it-never-${randomUUID()}`]);
    expect((await admin.groupLag(groupId, [topic])).reduce((n, l) => n + l.lag, 0)).toBe(10);
    await admin.deleteTopics([topic]);
    await producer.close();
    await admin.close();
  });
});
