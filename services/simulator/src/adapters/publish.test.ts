import { fromBinary } from '@bufbuild/protobuf';
import { EventRecordSchema, partitionForKey, Topics, TruthRecordSchema } from '@personastream/contracts';
import { silentLogger } from '@personastream/runtime';
import { MemoryBroker } from '@personastream/stream';
import { describe, expect, it } from 'vitest';
import { simulatorConfig } from '../core/config.js';
import { simulateUsers } from '../core/run.js';
import { MALFORMED_HEADER, publishRun } from './publish.js';

const config = simulatorConfig({ users: 8, seed: 9, malformedRate: 0.01 });

function decodeEvents(broker: MemoryBroker) {
  return broker
    .partitions(Topics.events)
    .map((log) =>
      log.records.map((r) =>
        r.headers[MALFORMED_HEADER] === '1'
          ? { kind: 'malformed' as const, key: r.key, json: new TextDecoder().decode(r.value) }
          : { kind: 'record' as const, key: r.key, rec: fromBinary(EventRecordSchema, r.value) },
      ),
    );
}

describe('publishRun', { timeout: 30_000 }, () => {
  it('keeps each user on one partition in order and ends every partition of both topics with a counted EndOfRun', async () => {
    const broker = new MemoryBroker(4);
    broker.createTopic(Topics.truth, 3);
    const progress: number[] = [];
    const summary = await publishRun(
      config,
      { stream: broker, logger: silentLogger() },
      { batchSize: 97, onProgress: (n) => progress.push(n) },
    );
    expect(progress.at(-1)).toBe(8);
    expect(summary.users).toBe(8);
    expect(summary.truths).toBe(8);
    expect(summary.aborted).toBe(false);

    // Expected per-user sequence of payloads, straight from the generator.
    const expected = new Map<string, string[]>();
    let events = 0;
    let malformed = 0;
    for (const { userId, records } of simulateUsers(config)) {
      expected.set(
        `demo/${userId}`,
        records.flatMap((r) => {
          if (r.kind === 'event') {
            events++;
            return [r.event.eventId];
          }
          if (r.kind === 'malformed') {
            malformed++;
            return [`M:${r.json}`];
          }
          return [];
        }),
      );
    }
    expect(summary.events).toBe(events);
    expect(summary.malformed).toBe(malformed);
    expect(malformed).toBeGreaterThan(0);

    const parts = decodeEvents(broker);
    expect(parts).toHaveLength(4);
    const seen = new Map<string, string[]>();
    parts.forEach((records, p) => {
      const last = records.at(-1);
      if (last?.kind !== 'record' || last.rec.kind.case !== 'endOfRun')
        throw new Error(`partition ${p} has no marker last`);
      const m = last.rec.kind.value;
      expect(m).toMatchObject({
        runId: config.runId,
        producer: 'simulator',
        partition: p,
        totalPartitions: 4,
        tenant: 'demo',
      });
      expect(m.records).toBe(records.length - 1);
      expect(m.records).toBe(summary.partitions.events[p]);
      for (const r of records.slice(0, -1)) {
        if (partitionForKey(r.key, 4) !== p) throw new Error(`${r.key} on partition ${p}`);
        const list = seen.get(r.key) ?? [];
        if (r.kind === 'malformed') list.push(`M:${r.json}`);
        else if (r.rec.kind.case === 'event') list.push(r.rec.kind.value.eventId);
        else throw new Error('marker before the end');
        seen.set(r.key, list);
      }
    });
    expect(seen).toEqual(expected);

    const truthParts = broker.partitions(Topics.truth);
    expect(truthParts).toHaveLength(3);
    let truths = 0;
    truthParts.forEach((log, p) => {
      const recs = log.records.map((r) => fromBinary(TruthRecordSchema, r.value));
      const last = recs.at(-1);
      if (last?.kind.case !== 'endOfRun') throw new Error(`truth partition ${p} has no marker last`);
      expect(last.kind.value.records).toBe(recs.length - 1);
      expect(last.kind.value.totalPartitions).toBe(3);
      for (const r of recs.slice(0, -1)) {
        if (r.kind.case !== 'truth') throw new Error('marker before the end');
        expect(partitionForKey(`demo/${r.kind.value.userId}`, 3)).toBe(p);
        truths++;
      }
    });
    expect(truths).toBe(8);
  });

  it('publishes the same messages per key on a second run (determinism)', async () => {
    const a = new MemoryBroker(4);
    const b = new MemoryBroker(4);
    await publishRun(config, { stream: a, logger: silentLogger() });
    await publishRun(config, { stream: b, logger: silentLogger() });
    // Markers carry a wall-clock production time; everything else must be byte-identical.
    const strip = (m: MemoryBroker) =>
      m
        .read(Topics.events)
        .filter(
          (r) => r.headers[MALFORMED_HEADER] === '1' || fromBinary(EventRecordSchema, r.value).kind.case === 'event',
        )
        .map((r) => [r.partition, r.key, Buffer.from(r.value).toString('hex')]);
    expect(strip(a).length).toBeGreaterThan(500);
    expect(strip(a)).toEqual(strip(b));
  });

  it('stops after the current batch on abort and writes no markers', async () => {
    const broker = new MemoryBroker(2);
    const ac = new AbortController();
    let batches = 0;
    const summary = await publishRun(
      config,
      { stream: broker, logger: silentLogger() },
      {
        batchSize: 50,
        signal: ac.signal,
        onBatch: () => {
          if (++batches === 2) ac.abort();
        },
      },
    );
    expect(summary.aborted).toBe(true);
    expect(broker.read(Topics.events)).toHaveLength(100);
    const markers = broker
      .read(Topics.events)
      .filter((r) => !r.headers[MALFORMED_HEADER] && fromBinary(EventRecordSchema, r.value).kind.case === 'endOfRun');
    expect(markers).toHaveLength(0);
  });

  it('paces events by receipt time divided by the speed-up', async () => {
    const broker = new MemoryBroker(2);
    let clock = 0;
    const sleeps: number[] = [];
    const small = simulatorConfig({ users: 2, seed: 9, horizonDays: 7 });
    const summary = await publishRun(
      small,
      { stream: broker, logger: silentLogger() },
      {
        speedup: 86_400,
        now: () => clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
      },
    );
    expect(summary.aborted).toBe(false);
    const total = sleeps.reduce((a, b) => a + b, 0);
    // ~7 simulated days at one day per second.
    expect(total).toBeGreaterThan(3_000);
    expect(total).toBeLessThan(7_500);
    // Per key, events are still in receipt order, and markers close every partition.
    for (const log of broker.partitions(Topics.events)) {
      const last = log.records.at(-1);
      expect(last && fromBinary(EventRecordSchema, last.value).kind.case).toBe('endOfRun');
    }
  });
});
