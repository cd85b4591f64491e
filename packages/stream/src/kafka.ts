import { partitionForKey } from '@personastream/contracts';
import { type Admin, type Consumer, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type {
  BatchHandler,
  ConsumerOptions,
  InRecord,
  OutRecord,
  Stream,
  StreamAdmin,
  StreamConsumer,
  StreamProducer,
} from './types.js';

export interface KafkaStreamConfig {
  brokers: string[];
  clientId: string;
  /** Connection and request timeouts, ms. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface KafkaStreamDeps {
  logger: Logger;
}

/** The Kafka adapter of the `Stream` interface (kafkajs underneath). */
export function createKafkaStream(config: KafkaStreamConfig, deps: KafkaStreamDeps): Stream {
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs ?? 3000,
    requestTimeout: config.requestTimeoutMs ?? 30000,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        if (level <= logLevel.ERROR) deps.logger.error({ kafka: extra }, message);
        else deps.logger.warn({ kafka: extra }, message);
      },
    retry: { retries: 8, initialRetryTime: 200 },
  });

  const partitionCache = new Map<string, number>();
  async function partitionsOf(admin: Admin, topic: string): Promise<number> {
    const cached = partitionCache.get(topic);
    if (cached !== undefined) return cached;
    let n = 0;
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      n = meta.topics[0]?.partitions.length ?? 0;
    } catch (err) {
      if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
    }
    if (n === 0) throw new Error(`Kafka topic ${topic} does not exist (run "personastream infra up")`);
    partitionCache.set(topic, n);
    return n;
  }

  return {
    producer: () =>
      createProducer(
        kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner }),
        kafka.admin(),
        partitionsOf,
      ),
    consumer: (options) => createConsumer(kafka, options, deps.logger),
    admin: () => createAdmin(kafka.admin(), partitionsOf),
  };
}

function createProducer(
  producer: Producer,
  admin: Admin,
  partitionsOf: (admin: Admin, topic: string) => Promise<number>,
): StreamProducer {
  let connected: Promise<void> | undefined;
  const connect = () => {
    connected ??= Promise.all([producer.connect(), admin.connect()]).then(() => undefined);
    return connected;
  };
  return {
    async send(topic: string, records: OutRecord[]) {
      if (records.length === 0) return;
      await connect();
      const n = await partitionsOf(admin, topic);
      // one produce request must stay under the broker's message.max.bytes (1 MiB by default)
      for (const chunk of chunkBySize(records, MAX_REQUEST_BYTES)) {
        await producer.send({
          topic,
          acks: -1,
          messages: chunk.map((r) => ({
            key: r.key,
            value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
            headers: r.headers,
            partition: r.partition ?? partitionForKey(r.key, n),
          })),
        });
      }
    },
    async close() {
      if (connected) {
        await connected.catch(() => undefined);
        await Promise.all([producer.disconnect(), admin.disconnect()]);
      }
    },
  };
}

function createConsumer(kafka: Kafka, options: ConsumerOptions, logger: Logger): StreamConsumer {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 30000,
    rebalanceTimeout: 30000,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: 100,
  });
  const inFlight = new Set<Promise<void>>();
  return {
    async start(handler: BatchHandler) {
      await consumer.connect();
      await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.concurrency ?? 4,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const records: InRecord[] = batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key ? m.key.toString('utf8') : '',
            value: m.value ? new Uint8Array(m.value.buffer, m.value.byteOffset, m.value.byteLength) : new Uint8Array(),
            headers: Object.fromEntries(
              Object.entries(m.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? String(v[0]) : String(v ?? '')]),
            ),
            timestamp: Number(m.timestamp),
          }));
          const last = batch.messages[batch.messages.length - 1];
          const work = (async () => {
            await handler({ topic: batch.topic, partition: batch.partition, records });
            if (last) {
              // mark the batch consumed (the fetcher moves on) and commit it (the group resumes after it)
              resolveOffset(last.offset);
              await consumer.commitOffsets([
                { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
              ]);
            }
          })();
          inFlight.add(work);
          try {
            await work;
          } finally {
            inFlight.delete(work);
          }
          await heartbeat();
        },
      });
      logger.info({ groupId: options.groupId, topics: options.topics }, 'consumer started');
    },
    async stop() {
      // let handled batches finish committing before leaving the group
      await Promise.allSettled([...inFlight]);
      await consumer.disconnect();
    },
  };
}

function createAdmin(admin: Admin, partitionsOf: (admin: Admin, topic: string) => Promise<number>): StreamAdmin {
  let connected: Promise<void> | undefined;
  const connect = () => {
    connected ??= admin.connect();
    return connected;
  };
  return {
    async ensureTopics(specs) {
      await connect();
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.partitions, replicationFactor: 1 })),
        });
      }
    },
    async partitionCount(topic) {
      await connect();
      return partitionsOf(admin, topic);
    },
    async close() {
      if (connected) await admin.disconnect();
    },
  };
}

/** Bytes of record payload per produce request (below the broker's 1 MiB message.max.bytes). */
const MAX_REQUEST_BYTES = 512 * 1024;

/** Splits records into consecutive chunks of at most `maxBytes` of keys + values (one record at least). */
export function chunkBySize(records: OutRecord[], maxBytes: number): OutRecord[][] {
  const chunks: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let size = 0;
  for (const r of records) {
    const bytes = r.value.byteLength + r.key.length + 64;
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
