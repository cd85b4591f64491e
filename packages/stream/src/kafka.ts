import { partitionForKey } from '@personastream/contracts';
import { Gauge, type KafkaTopicSettings, type Registry } from '@personastream/runtime';
import type { Admin, Consumer, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { loadKafkajs } from './kafkajs-fast.js';
import { resumeOffset } from './rewind.js';
import type {
  BatchHandler,
  ConsumerOptions,
  InRecord,
  OutRecord,
  PartitionLag,
  PartitionOffsets,
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
  /**
   * Replication factor of the topics `ensureTopics` creates, and the least every topic this stream
   * uses must have (checked on first use; see {@link replicationProblem}). Default 1: a single-broker
   * dev cluster (KAFKA_REPLICATION_FACTOR).
   */
  replicationFactor?: number;
  /**
   * `min.insync.replicas` of the topics `ensureTopics` creates, and the least every topic used must
   * have; default: the broker's, not checked (KAFKA_MIN_INSYNC_REPLICAS).
   */
  minInsyncReplicas?: number;
}

/** What a topic has: replicas per partition, and its effective `min.insync.replicas` when known. */
export interface TopicReplication {
  replicas: number[];
  minInsyncReplicas?: number;
}

/**
 * Why a stream configured with `settings` must not use `topic` (fewer replicas, or a lower
 * min.insync.replicas, than required), naming the topic and what it has; undefined when it may.
 */
export function replicationProblem(
  topic: string,
  has: TopicReplication,
  settings: KafkaTopicSettings,
): string | undefined {
  const rf = settings.replicationFactor;
  const fewest = Math.min(...has.replicas);
  if (fewest < rf) {
    const partition = has.replicas.indexOf(fewest);
    return `Kafka topic ${topic} has replication factor ${fewest} (partition ${partition}), below the ${rf} this service requires (KAFKA_REPLICATION_FACTOR): one broker lost could lose acknowledged records. Reassign it to ${rf} replicas, or set KAFKA_REPLICATION_FACTOR=${fewest} on a single-broker dev cluster.`;
  }
  const minIsr = settings.minInsyncReplicas;
  if (minIsr !== undefined && has.minInsyncReplicas !== undefined && has.minInsyncReplicas < minIsr) {
    return `Kafka topic ${topic} has min.insync.replicas ${has.minInsyncReplicas}, below the ${minIsr} this service requires (KAFKA_MIN_INSYNC_REPLICAS): acks=all would wait for ${has.minInsyncReplicas} replica${has.minInsyncReplicas === 1 ? '' : 's'} only. Set min.insync.replicas=${minIsr} on the topic.`;
  }
  return undefined;
}

export interface KafkaStreamDeps {
  logger: Logger;
  /**
   * When given, every consumer exports its group's lag per partition as the gauge
   * `personastream_consumer_lag{group,topic,partition}`, polled from the cluster every
   * `lagIntervalMs` (default 15 s): it also shows a consumer that has stopped fetching.
   */
  registry?: Registry;
  lagIntervalMs?: number;
}

/** kafkajs with the byte-identical fast produce encoder (see kafkajs-fast.ts). */
const { Kafka, logLevel, Partitioners, ConfigResourceTypes } = loadKafkajs();
type Kafka = InstanceType<typeof Kafka>;

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

  const settings: KafkaTopicSettings = {
    replicationFactor: config.replicationFactor ?? 1,
    ...(config.minInsyncReplicas !== undefined ? { minInsyncReplicas: config.minInsyncReplicas } : {}),
  };
  const partitionCache = new Map<string, number>();
  /** Partition count of a topic, checked once against the replication settings before first use. */
  async function partitionsOf(admin: Admin, topic: string): Promise<number> {
    const cached = partitionCache.get(topic);
    if (cached !== undefined) return cached;
    let replicas: number[] = [];
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      replicas = (meta.topics[0]?.partitions ?? []).map((p) => p.replicas.length);
    } catch (err) {
      if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
    }
    if (replicas.length === 0) throw new Error(`Kafka topic ${topic} does not exist (run "personastream infra up")`);
    const minInsyncReplicas =
      settings.minInsyncReplicas !== undefined ? await minInsyncReplicasOf(admin, topic) : undefined;
    const problem = replicationProblem(
      topic,
      { replicas, ...(minInsyncReplicas !== undefined ? { minInsyncReplicas } : {}) },
      settings,
    );
    if (problem) throw new Error(problem);
    partitionCache.set(topic, replicas.length);
    return replicas.length;
  }

  return {
    producer: () =>
      createProducer(
        kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner }),
        kafka.admin(),
        partitionsOf,
      ),
    consumer: (options) =>
      createConsumer(
        kafka,
        options,
        deps.logger,
        deps.registry
          ? lagMonitor(kafka, options, deps.registry, deps.lagIntervalMs ?? 15_000, deps.logger)
          : undefined,
      ),
    admin: () => createAdmin(kafka.admin(), partitionsOf, (topic) => partitionCache.delete(topic), settings),
  };
}

/** A topic's effective `min.insync.replicas` (its own or the broker's default). */
async function minInsyncReplicasOf(admin: Admin, topic: string): Promise<number | undefined> {
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }],
  });
  const value = res.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue;
  return value === undefined ? undefined : Number(value);
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
      const messages = records.map((r) => ({
        key: r.key,
        value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
        headers: r.headers,
        partition: r.partition ?? partitionForKey(r.key, n),
      }));
      // Each partition's record batch must stay under the broker's message.max.bytes (1 MiB by
      // default); one request carries every partition's batch. Chunks go one after the other, each
      // acknowledged before the next, so a retried chunk can never land after a later one.
      for (const chunk of chunkBySize(messages, MAX_BATCH_BYTES, (m) => m.partition, MAX_REQUEST_BYTES)) {
        await producer.send({ topic, acks: -1, messages: chunk });
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

/** Polls a consumer group's lag into the registry's lag gauge while the consumer runs. */
interface LagMonitor {
  start(): void;
  stop(): Promise<void>;
}

function lagGauge(registry: Registry): Gauge<'group' | 'topic' | 'partition'> {
  return (
    (registry.getSingleMetric('personastream_consumer_lag') as Gauge<'group' | 'topic' | 'partition'> | undefined) ??
    new Gauge({
      name: 'personastream_consumer_lag',
      help: 'Records not yet committed by the consumer group, per partition (log end − committed offset), polled from the cluster',
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
    })
  );
}

function lagMonitor(
  kafka: Kafka,
  options: ConsumerOptions,
  registry: Registry,
  intervalMs: number,
  logger: Logger,
): LagMonitor {
  const gauge = lagGauge(registry);
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  // The poll in flight, if any: a tick while one runs (a slow or stalled broker) is skipped, so polls
  // never queue up behind each other.
  let polling: Promise<void> | undefined;
  const poll = async () => {
    try {
      connected ??= admin.connect();
      await connected;
      for (const l of await groupLagOf(admin, options.groupId, options.topics)) {
        gauge.set({ group: options.groupId, topic: l.topic, partition: String(l.partition) }, l.lag);
      }
    } catch (err) {
      logger.warn({ err, groupId: options.groupId }, 'consumer lag poll failed');
    }
  };
  return {
    start() {
      const tick = () => {
        polling ??= poll().finally(() => {
          polling = undefined;
        });
      };
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await polling;
      if (connected) await connected.then(() => admin.disconnect()).catch(() => undefined);
    },
  };
}

/** Delay before a failed batch is fetched again: doubles per failure in a row, up to the maximum. */
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 30_000;

function createConsumer(kafka: Kafka, options: ConsumerOptions, logger: Logger, lag?: LagMonitor): StreamConsumer {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 30000,
    rebalanceTimeout: 30000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: options.fetch?.maxWaitMs ?? 100,
    minBytes: options.fetch?.minBytes ?? 1,
    maxBytesPerPartition: options.fetch?.maxBytesPerPartition ?? 1024 * 1024,
    maxBytes: options.fetch?.maxBytes ?? 10 * 1024 * 1024,
  });
  const inFlight = new Set<Promise<void>>();
  /** Per partition, the work (handler, then commit) of its latest batch. */
  const latest = new Map<string, Promise<void>>();
  /** Per partition, how many batches failed in a row (the retry delay doubles with each). */
  const failures = new Map<string, number>();
  const retryTimers = new Set<NodeJS.Timeout>();
  /** Fetches the batch again after a delay: seek back to its first record, pause, resume. */
  const retryLater = (topic: string, partition: number, offset: string, lane: string): number => {
    const n = (failures.get(lane) ?? 0) + 1;
    failures.set(lane, n);
    const delayMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (n - 1));
    consumer.seek({ topic, partition, offset });
    consumer.pause([{ topic, partitions: [partition] }]);
    const timer = setTimeout(() => {
      retryTimers.delete(timer);
      try {
        consumer.resume([{ topic, partitions: [partition] }]);
      } catch (err) {
        logger.warn({ err, topic, partition }, 'could not resume a partition after a failed batch');
      }
    }, delayMs);
    retryTimers.add(timer);
    return delayMs;
  };
  /**
   * Heartbeats (kafkajs sends one when the interval has passed). When that fails — most likely a
   * rebalance, and kafkajs rejoins the group once this throws — the batches in flight finish and
   * commit first (with the current generation), so that no handled work is thrown away and handled
   * again by the partition's next owner.
   */
  const heartbeatOrSettle = async (heartbeat: () => Promise<void>) => {
    try {
      await heartbeat();
    } catch (err) {
      await Promise.allSettled([...inFlight]);
      throw err;
    }
  };
  return {
    async start(handler: BatchHandler) {
      if (options.onAssignment) {
        const report = options.onAssignment;
        consumer.on(consumer.events.GROUP_JOIN, (e) => {
          const assigned = e.payload.memberAssignment as Record<string, number[]>;
          report(Object.entries(assigned).map(([topic, partitions]) => ({ topic, partitions: [...partitions] })));
        });
      }
      await consumer.connect();
      await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.concurrency ?? 4,
        // A batch's handler and commit run after the previous batch's of its partition, but the
        // fetcher does not wait for them: the next fetch (and other partitions' batches) overlap this
        // batch's round trips (its produce, checkpoint and commit). Should they fail, the partition
        // seeks back to the batch's first record, so it is fetched and handled again.
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const lane = `${batch.topic}\u0000${batch.partition}`;
          const previous = latest.get(lane);
          if (previous) {
            // while the partition's previous batch runs, the group still hears from this member
            await heartbeatOrSettle(heartbeat);
            await previous.catch(() => undefined);
          }
          // after a failed previous batch the partition sought back: this batch comes again later
          if (!isRunning() || isStale()) return;
          // A batch's records live until it is handled: they share what they can (one string for a
          // run of equal keys — one user's events come together —, the value as the fetched bytes,
          // one empty header object).
          let keyBytes: Buffer | undefined;
          let key = '';
          const records: InRecord[] = batch.messages.map((m) => {
            if (!m.key) key = '';
            else if (!keyBytes?.equals(m.key)) key = m.key.toString('utf8');
            keyBytes = m.key ?? undefined;
            return {
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key,
              value: m.value ?? EMPTY_VALUE,
              headers: headersOf(m.headers),
              timestamp: Number(m.timestamp),
            };
          });
          const first = records[0] as InRecord;
          const last = records[records.length - 1] as InRecord;
          // the fetcher moves on past this batch now; the group resumes after it once committed
          resolveOffset(last.offset);
          const work = (async () => {
            await handler({ topic: batch.topic, partition: batch.partition, records });
            await consumer.commitOffsets([
              { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
            ]);
            failures.delete(lane);
          })().catch((err: unknown) => {
            const offset = resumeOffset(err, first.offset);
            const retryInMs = retryLater(batch.topic, batch.partition, offset, lane);
            logger.warn(
              { err, topic: batch.topic, partition: batch.partition, offset, retryInMs },
              'batch failed; it will be fetched again',
            );
            throw err;
          });
          latest.set(lane, work);
          inFlight.add(work);
          work.then(
            () => inFlight.delete(work),
            () => inFlight.delete(work),
          );
          await heartbeatOrSettle(heartbeat);
        },
      });
      lag?.start();
      logger.info({ groupId: options.groupId, topics: options.topics }, 'consumer started');
    },
    async stop() {
      await lag?.stop();
      for (const t of retryTimers) clearTimeout(t);
      retryTimers.clear();
      // let handled batches finish committing before leaving the group
      await Promise.allSettled([...inFlight]);
      await consumer.disconnect();
    },
  };
}

const EMPTY_VALUE = new Uint8Array();
/** The headers of a record without any (shared by all such records, so frozen). */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** kafkajs record headers as strings (the first value of a repeated header). */
function headersOf(h: Record<string, unknown> | undefined): Record<string, string> {
  let out: Record<string, string> | undefined;
  if (h)
    for (const k in h) {
      out ??= {};
      const v = h[k];
      const value = Array.isArray(v) ? String(v[0]) : String(v ?? '');
      if (k === '__proto__')
        Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
      else out[k] = value;
    }
  return out ?? NO_HEADERS;
}

function createAdmin(
  admin: Admin,
  partitionsOf: (admin: Admin, topic: string) => Promise<number>,
  forget: (topic: string) => void,
  settings: KafkaTopicSettings,
): StreamAdmin {
  let connected: Promise<void> | undefined;
  const connect = () => {
    connected ??= admin.connect();
    return connected;
  };
  return {
    async groupLag(groupId, topics) {
      await connect();
      return groupLagOf(admin, groupId, topics);
    },
    async partitionOffsets(groupId, topic) {
      await connect();
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
      return ends
        .map((e) => {
          const c = byPartition.get(e.partition);
          const out: PartitionOffsets = { partition: e.partition, low: e.low, high: e.high };
          if (c !== undefined && BigInt(c) >= 0n) out.committed = c;
          return out;
        })
        .sort((a, b) => a.partition - b.partition);
    },
    async ensureTopics(specs) {
      await connect();
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      // topics that exist must have the replication required; created ones get it
      for (const s of specs) if (existing.has(s.topic)) await partitionsOf(admin, s.topic);
      if (missing.length === 0) return;
      const rf = settings.replicationFactor;
      const brokers = (await admin.describeCluster()).brokers.length;
      if (brokers < rf) {
        const names = missing.map((s) => s.topic).join(', ');
        throw new Error(
          `cannot create Kafka topic${missing.length > 1 ? 's' : ''} ${names} with replication factor ${rf} (KAFKA_REPLICATION_FACTOR): the cluster has ${brokers} broker${brokers === 1 ? '' : 's'}`,
        );
      }
      const configEntries =
        settings.minInsyncReplicas !== undefined
          ? [{ name: 'min.insync.replicas', value: String(settings.minInsyncReplicas) }]
          : [];
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: rf,
          configEntries,
        })),
      });
      // false: another process created them first (kafkajs' answer when every topic already exists);
      // they must then pass the same check as topics that existed before
      if (!created) for (const s of missing) await partitionsOf(admin, s.topic);
    },
    async partitionCount(topic) {
      await connect();
      return partitionsOf(admin, topic);
    },
    async deleteTopics(topics) {
      await connect();
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length > 0) await admin.deleteTopics({ topics: present });
      for (const t of topics) forget(t);
    },
    async deleteGroups(groupIds) {
      await connect();
      const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
      const present = groupIds.filter((g) => existing.has(g));
      if (present.length > 0) await admin.deleteGroups(present);
    },
    async close() {
      if (connected) await admin.disconnect();
    },
  };
}

/**
 * Lag of a group per partition: the log end (high watermark) minus the group's committed offset; a
 * partition without a commit counts from the log start (the consumers start from the beginning).
 */
async function groupLagOf(admin: Admin, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const out: PartitionLag[] = [];
  for (const { topic, partitions } of committed) {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o]));
    for (const { partition, offset } of partitions) {
      const end = ends.get(partition);
      if (!end) continue;
      const high = Number(end.high);
      const from = Number(offset) >= 0 ? Number(offset) : Number(end.low);
      out.push({ topic, partition, lag: Math.max(0, high - from) });
    }
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** Bytes of record payload per partition in one produce request (below the broker's 1 MiB message.max.bytes). */
const MAX_BATCH_BYTES = 768 * 1024;
/** Bytes of record payload per produce request, all partitions together. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

interface Sized {
  key: string;
  value: Uint8Array;
  headers?: Record<string, string>;
}

/** Upper estimate of a record's bytes in a record batch (varints, attributes, headers). */
function recordBytes(r: Sized): number {
  let bytes = r.value.byteLength + r.key.length + 64;
  if (r.headers) for (const k in r.headers) bytes += k.length + (r.headers[k]?.length ?? 0) + 10;
  return bytes;
}

/**
 * Splits records into consecutive chunks (one record at least) in which each partition's keys +
 * values stay within `maxBytes` and all of them together within `maxTotalBytes`. Without
 * `partitionOf`, every record counts as one partition.
 */
export function chunkBySize<R extends Sized>(
  records: R[],
  maxBytes: number,
  partitionOf: (r: R) => number = () => 0,
  maxTotalBytes = Number.POSITIVE_INFINITY,
): R[][] {
  const chunks: R[][] = [];
  let current: R[] = [];
  let perPartition = new Map<number, number>();
  let total = 0;
  for (const r of records) {
    const bytes = recordBytes(r);
    const p = partitionOf(r);
    const size = perPartition.get(p) ?? 0;
    if (current.length > 0 && (size + bytes > maxBytes || total + bytes > maxTotalBytes)) {
      chunks.push(current);
      current = [];
      perPartition = new Map();
      total = 0;
    }
    current.push(r);
    perPartition.set(p, (perPartition.get(p) ?? 0) + bytes);
    total += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
