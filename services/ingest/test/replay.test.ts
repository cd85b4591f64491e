import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { EventRecordSchema } from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { createKafkaStream, type Stream, type StreamAdmin, type StreamProducer } from '@personastream/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngestApp } from '../src/adapters/http.js';
import { DEFAULT_APP_CONFIG } from '../src/config.js';
import { ApiKeyStore } from '../src/core/api-keys.js';
import { writeMovielensFixture } from '../src/import/fixtures.js';
import { importDataset } from '../src/import/import.js';
import { replayDataset } from '../src/import/replay.js';
import { requireEnv, uniqueSuffix } from './helpers.js';

// A MovieLens-format folder written here → import → replay into the real local Kafka (own topics),
// straight to Kafka and through the HTTP API; consumed back to check every event and the markers.
const brokers = requireEnv('KAFKA_BROKERS').split(',');

async function readTopic(stream: Stream, topic: string, until: (events: number, markers: number) => boolean) {
  const ids: string[] = [];
  const markers: Array<{ partition: number; records: number; runId: string }> = [];
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const consumer = stream.consumer({
    groupId: `ingest-replay-it-${uniqueSuffix()}`,
    topics: [topic],
    fromBeginning: true,
  });
  await consumer.start(async (batch) => {
    for (const r of batch.records) {
      const k = fromBinary(EventRecordSchema, r.value).kind;
      if (k.case === 'event') ids.push(k.value.eventId);
      else if (k.case === 'endOfRun')
        markers.push({ partition: r.partition, records: k.value.records, runId: k.value.runId });
    }
    if (until(ids.length, markers.length)) done();
  });
  const timer = setTimeout(done, 60_000);
  await finished;
  clearTimeout(timer);
  await consumer.stop();
  return { ids, markers };
}

describe('import → replay on the real stack', () => {
  let tmp: string;
  let dataset: string;
  let stream: Stream;
  let admin: StreamAdmin;
  let producer: StreamProducer;
  const suffix = uniqueSuffix();

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ps-ingest-replay-it-'));
    await writeMovielensFixture(join(tmp, 'ml-100k'), 25, 4);
    dataset = join(tmp, 'dataset');
    const r = await importDataset({ format: 'movielens', path: join(tmp, 'ml-100k'), out: dataset });
    expect(r.events).toBe(100);
    stream = createKafkaStream({ brokers, clientId: 'ingest-replay-it' }, { logger: silentLogger() });
    admin = stream.admin();
    producer = stream.producer();
  });

  afterAll(async () => {
    await producer?.close();
    await admin?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('replays straight to Kafka through the validation core, ending the run on every partition', async () => {
    const topics = { events: `ingest-replay-k-${suffix}`, dlq: `ingest-replay-k-dlq-${suffix}` };
    await admin.ensureTopics([
      { topic: topics.events, partitions: 3 },
      { topic: topics.dlq, partitions: 1 },
    ]);
    const s = await replayDataset({ path: dataset, target: 'kafka', producer, topics, partitions: 3, batchSize: 30 });
    expect(s).toMatchObject({ events: 100, accepted: 100, duplicates: 0, rejected: {}, runs: ['import-movielens'] });
    const { ids, markers } = await readTopic(stream, topics.events, (e, m) => e >= 100 && m >= 3);
    expect(new Set(ids).size).toBe(100);
    expect(markers.map((m) => m.partition).sort()).toEqual([0, 1, 2]);
    expect(markers.reduce((n, m) => n + m.records, 0)).toBe(100);
  });

  it('replays through the HTTP API into Kafka with the same result', async () => {
    const topics = { events: `ingest-replay-h-${suffix}`, dlq: `ingest-replay-h-dlq-${suffix}` };
    await admin.ensureTopics([
      { topic: topics.events, partitions: 2 },
      { topic: topics.dlq, partitions: 1 },
    ]);
    const app = buildIngestApp(DEFAULT_APP_CONFIG, {
      producer,
      keys: ApiKeyStore.fromSpec('movielens:movielens-replay-key'),
      logger: silentLogger(),
      registry: createRegistry(`ingest-replay-it-${suffix}`, false),
      topics,
      eventPartitions: () => admin.partitionCount(topics.events),
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const s = await replayDataset({
        path: dataset,
        target: 'http',
        url,
        apiKey: 'movielens-replay-key',
        batchSize: 40,
      });
      expect(s).toMatchObject({ events: 100, accepted: 100, duplicates: 0, rejected: {} });
      const { ids, markers } = await readTopic(stream, topics.events, (e, m) => e >= 100 && m >= 2);
      expect(new Set(ids).size).toBe(100);
      expect(markers.map((m) => m.partition).sort()).toEqual([0, 1]);
      expect(markers.every((m) => m.runId === 'import-movielens')).toBe(true);
    } finally {
      await app.close();
    }
  });
});
