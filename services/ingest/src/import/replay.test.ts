import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { EventRecordSchema } from '@personastream/contracts';
import { writeDataset } from '@personastream/dataset';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { MemoryBroker } from '@personastream/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngestApp } from '../adapters/http.js';
import { DEFAULT_APP_CONFIG } from '../config.js';
import { ApiKeyStore } from '../core/api-keys.js';
import { newEvent, newItem } from '../core/messages.js';
import { writeMovielensFixture } from './fixtures.js';
import { importDataset } from './import.js';
import { replayDataset } from './replay.js';

let tmp: string;
let ml: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ps-ingest-replay-'));
  await writeMovielensFixture(join(tmp, 'src'));
  ml = join(tmp, 'ml');
  await importDataset({ format: 'movielens', path: join(tmp, 'src'), out: ml });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function decode(broker: MemoryBroker, topic: string) {
  return broker.read(topic).map((r) => fromBinary(EventRecordSchema, r.value).kind);
}

describe('replayDataset', () => {
  it('kafka target: valid events to the events topic, invalid ones to the DLQ, end-of-run markers last', async () => {
    // a dataset with an event the validation core rejects (time before 1990) and a repeated id
    const dir = join(tmp, 'mixed');
    const ev = (id: string, t: number) =>
      newEvent({
        eventId: id,
        tenant: 'shop',
        userId: `u-${id}`,
        eventTimeMs: t,
        type: 2,
        item: newItem({ id: 'i' }),
        runId: 'r1',
      });
    await writeDataset(dir, {
      manifestBase: { source: 'test', license: 'test', labelledDimensions: [] },
      records: [
        { kind: 'event', event: ev('a', Date.UTC(2020, 0, 1)) },
        { kind: 'event', event: ev('old', Date.UTC(1980, 0, 1)) },
        { kind: 'event', event: ev('a', Date.UTC(2020, 0, 1)) },
        { kind: 'event', event: ev('b', Date.UTC(2020, 0, 2)) },
      ],
    });
    const broker = new MemoryBroker(4);
    const s = await replayDataset({ path: dir, target: 'kafka', producer: broker.producer(), batchSize: 2 });
    expect(s).toMatchObject({
      events: 4,
      accepted: 2,
      duplicates: 1,
      rejected: { event_time_ms_out_of_range: 1 },
      runs: ['r1'],
    });
    const kinds = decode(broker, 'behavior.events.v1');
    expect(
      kinds
        .filter((k) => k.case === 'event')
        .map((k) => k.value?.$typeName && (k.value as { eventId: string }).eventId)
        .sort(),
    ).toEqual(['a', 'b']);
    const markers = kinds.filter((k) => k.case === 'endOfRun');
    expect(markers).toHaveLength(4);
    expect(markers.reduce((n, k) => n + ((k.value as { records: number }).records ?? 0), 0)).toBe(2);
    const dlq = broker.read('behavior.events.dlq.v1');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.headers['ps-dlq-reason']).toBe('event_time_ms_out_of_range');
    expect(JSON.parse(Buffer.from(dlq[0]?.value ?? []).toString('utf8')).eventId).toBe('old');
  });

  it('http target: batches through the API, summary from its answers, run ended through the API', async () => {
    const broker = new MemoryBroker(4);
    const app = buildIngestApp(
      { ...DEFAULT_APP_CONFIG, ratePerS: 40, burst: 30, maxBatch: 30 },
      {
        producer: broker.producer(),
        keys: ApiKeyStore.fromSpec('movielens:ml-key-123456'),
        logger: silentLogger(),
        registry: createRegistry('replay-test', false),
      },
    );
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const progress: number[] = [];
      const s = await replayDataset({
        path: ml,
        target: 'http',
        url,
        apiKey: 'ml-key-123456',
        batchSize: 25,
        onProgress: (p) => progress.push(p.events),
      });
      // 48 events, the bucket holds 30 at 40/s: the replay waits once on 429 Retry-After and completes
      expect(s).toMatchObject({ events: 48, accepted: 48, duplicates: 0, rejected: {}, runs: ['import-movielens'] });
      expect(progress.at(-1)).toBe(48);
      const kinds = decode(broker, 'behavior.events.v1');
      expect(kinds.filter((k) => k.case === 'event')).toHaveLength(48);
      expect(kinds.filter((k) => k.case === 'endOfRun')).toHaveLength(4);
      // an unknown key is refused with a clear message
      await expect(
        replayDataset({ path: ml, target: 'http', url, apiKey: 'wrong-key-123', batchSize: 25 }),
      ).rejects.toThrow(/401/);
    } finally {
      await app.close();
    }
  });

  it('rewrites tenant and run id, so one dataset replays as a fresh run', async () => {
    const broker = new MemoryBroker(4);
    const s = await replayDataset({
      path: ml,
      target: 'kafka',
      producer: broker.producer(),
      tenant: 'acme',
      runId: 'ml-run-2',
    });
    expect(s).toMatchObject({ events: 48, accepted: 48, runs: ['ml-run-2'] });
    const kinds = decode(broker, 'behavior.events.v1');
    for (const k of kinds) {
      if (k.case === 'event') expect(k.value).toMatchObject({ tenant: 'acme', runId: 'ml-run-2' });
      else expect(k.value).toMatchObject({ tenant: 'acme', runId: 'ml-run-2' });
    }
    expect(kinds.filter((k) => k.case === 'endOfRun')).toHaveLength(4);
  });

  it("kafka target: markers per (tenant, run) with that tenant's counts; the live run gets none", async () => {
    const dir = join(tmp, 'tenants');
    const ev = (id: string, tenant: string, runId: string) =>
      newEvent({
        eventId: id,
        tenant,
        userId: `u-${id}`,
        eventTimeMs: Date.UTC(2020, 0, 1),
        type: 2,
        item: newItem({ id: 'i' }),
        runId,
      });
    await writeDataset(dir, {
      manifestBase: { source: 'test', license: 'test', labelledDimensions: [] },
      records: [
        ev('a1', 'acme', 'shared'),
        ev('a2', 'acme', 'shared'),
        ev('a3', 'acme', 'shared'),
        ev('g1', 'globex', 'shared'),
        ev('l1', 'acme', 'live'),
      ].map((event) => ({ kind: 'event' as const, event })),
    });
    const broker = new MemoryBroker(4);
    const s = await replayDataset({ path: dir, target: 'kafka', producer: broker.producer() });
    expect(s.accepted).toBe(5);
    const markers = decode(broker, 'behavior.events.v1').flatMap((k) => (k.case === 'endOfRun' ? [k.value] : []));
    expect(markers.filter((m) => m.runId === 'live')).toEqual([]);
    const total = (tenant: string) =>
      markers.filter((m) => m.tenant === tenant && m.runId === 'shared').reduce((n, m) => n + m.records, 0);
    expect(markers).toHaveLength(8);
    expect(total('acme')).toBe(3);
    expect(total('globex')).toBe(1);
  });

  it('http target: a replay into the live run sends its events and ends nothing', async () => {
    const broker = new MemoryBroker(4);
    const app = buildIngestApp(DEFAULT_APP_CONFIG, {
      producer: broker.producer(),
      keys: ApiKeyStore.fromSpec('acme:acme-key-123456'),
      logger: silentLogger(),
      registry: createRegistry('replay-live-test', false),
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const s = await replayDataset({
        path: ml,
        target: 'http',
        url,
        apiKey: 'acme-key-123456',
        tenant: 'acme',
        runId: 'live',
      });
      expect(s).toMatchObject({ accepted: 48, runs: ['live'] });
      const kinds = decode(broker, 'behavior.events.v1');
      expect(kinds.filter((k) => k.case === 'event')).toHaveLength(48);
      expect(kinds.filter((k) => k.case === 'endOfRun')).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('paces by event time with speedup', async () => {
    const dir = join(tmp, 'paced');
    const ev = (id: string, t: number) =>
      newEvent({ eventId: id, tenant: 'shop', userId: 'u', eventTimeMs: t, type: 1, runId: 'p' });
    const t0 = Date.UTC(2024, 0, 1);
    await writeDataset(dir, {
      manifestBase: { source: 'test', license: 'test', labelledDimensions: [] },
      records: [0, 1000, 2000, 3000].map((dt, i) => ({ kind: 'event' as const, event: ev(`p${i}`, t0 + dt) })),
    });
    const broker = new MemoryBroker(4);
    const started = Date.now();
    const s = await replayDataset({ path: dir, target: 'kafka', producer: broker.producer(), speedup: 20 });
    const took = Date.now() - started;
    expect(s.accepted).toBe(4);
    expect(took).toBeGreaterThanOrEqual(140); // 3 s of event time at 20x = 150 ms
    expect(took).toBeLessThan(2000);
  });
});
