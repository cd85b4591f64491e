// The ingest HTTP API as ingest-http.ts runs it: a separate process (so the load generator does not
// share its event loop), real Kafka producer, rate limit out of the way. Reports its address over IPC.
import { ApiKeyStore, buildIngestApp, DEFAULT_APP_CONFIG } from '@personastream/ingest';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const topic = process.env.BENCH_TOPIC ?? '';
const stream = createKafkaStream({ brokers, clientId: 'ingest-bench-server' }, { logger: silentLogger() });
const admin = stream.admin();
const producer = stream.producer();
const app = buildIngestApp(
  {
    ...DEFAULT_APP_CONFIG,
    ratePerS: 1e9,
    burst: 1e9,
    // the default id set (INGEST_DEDUP_IDS, 200k): a run of 10 s fills it, so eviction is measured too
    ...(process.env.INGEST_PRODUCE_LINGER_MS ? { produceLingerMs: Number(process.env.INGEST_PRODUCE_LINGER_MS) } : {}),
  },
  {
    producer,
    keys: ApiKeyStore.fromSpec(`bench:${process.env.BENCH_KEY}`),
    logger: silentLogger(),
    registry: createRegistry('ingest-bench', false),
    topics: { events: topic, dlq: `${topic}-dlq` },
    eventPartitions: () => admin.partitionCount(topic),
  },
);
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ address });
let cpuAtStart = process.cpuUsage();
process.on('message', async (m) => {
  if (m === 'start') cpuAtStart = process.cpuUsage();
  if (m === 'cpu') {
    const u = process.cpuUsage(cpuAtStart);
    process.send?.({ cpuMs: (u.user + u.system) / 1000 });
  }
  if (m === 'stop') {
    await app.close();
    await producer.close();
    await admin.close();
    process.exit(0);
  }
});
