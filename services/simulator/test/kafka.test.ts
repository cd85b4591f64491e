import { fromBinary } from '@bufbuild/protobuf';
import { EventRecordSchema, TruthRecordSchema } from '@personastream/contracts';
import { silentLogger } from '@personastream/runtime';
import { createKafkaStream, type InRecord } from '@personastream/stream';
import { describe, expect, it } from 'vitest';
import { MALFORMED_HEADER, publishRun, simulatorConfig } from '../src/index.js';

const brokers = process.env.KAFKA_BROKERS;

// Real Kafka (started by `personastream infra up`); own topics so no other test sees these records.
describe.skipIf(!brokers)('simulator on Kafka', () => {
  it('publishes a run with end-of-run markers on every partition of both topics', async () => {
    const logger = silentLogger();
    const stream = createKafkaStream(
      { brokers: (brokers as string).split(','), clientId: 'simulator-test' },
      { logger },
    );
    const suffix = `${Date.now().toString(36)}${process.pid}`;
    const topics = { events: `test.sim.events.${suffix}`, truth: `test.sim.truth.${suffix}` };
    const admin = stream.admin();
    await admin.ensureTopics([
      { topic: topics.events, partitions: 3 },
      { topic: topics.truth, partitions: 2 },
    ]);
    await admin.close();
    const config = simulatorConfig({ users: 10, seed: 21, runId: `it-${suffix}` });
    const summary = await publishRun(config, { stream, logger }, { topics, batchSize: 500 });
    expect(summary.users).toBe(10);

    const got: InRecord[] = [];
    const consumer = stream.consumer({ groupId: `g-${suffix}`, topics: [topics.events, topics.truth] });
    const markers = { events: 0, truth: 0 };
    const done = new Promise<void>((resolve) => {
      void consumer.start(async (batch) => {
        for (const r of batch.records) {
          got.push(r);
          if (r.headers[MALFORMED_HEADER] === '1') continue;
          if (r.topic === topics.events && fromBinary(EventRecordSchema, r.value).kind.case === 'endOfRun')
            markers.events++;
          if (r.topic === topics.truth && fromBinary(TruthRecordSchema, r.value).kind.case === 'endOfRun')
            markers.truth++;
        }
        if (markers.events === 3 && markers.truth === 2) resolve();
      });
    });
    await done;
    await consumer.stop();
    const events = got.filter((r) => r.topic === topics.events);
    expect(events.length).toBe(summary.events + summary.malformed + 3);
    expect(got.filter((r) => r.topic === topics.truth).length).toBe(summary.truths + 2);
    for (const r of events) {
      if (r.headers[MALFORMED_HEADER] === '1') continue;
      const rec = fromBinary(EventRecordSchema, r.value);
      if (rec.kind.case === 'endOfRun') expect(rec.kind.value.records).toBe(summary.partitions.events[r.partition]);
    }
  });
});
