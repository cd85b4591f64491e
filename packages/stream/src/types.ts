/**
 * The project's own small streaming interface. Services see only these types; the Kafka client
 * library (kafkajs today) lives behind `createKafkaStream`, and the embedded mode uses
 * `MemoryBroker`. Both partition by `partitionForKey` unless a record names its partition.
 */

/** A record to produce. */
export interface OutRecord {
  key: string;
  value: Uint8Array;
  headers?: Record<string, string>;
  /** Explicit partition (end-of-run markers); otherwise partitioned by key. */
  partition?: number;
}

/** A consumed record. */
export interface InRecord {
  topic: string;
  partition: number;
  /** Offset as a decimal string (Kafka offsets exceed 2^53 in theory). */
  offset: string;
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
  /** Broker timestamp, epoch ms. */
  timestamp: number;
}

/** Records of one partition, in offset order. */
export interface InBatch {
  topic: string;
  partition: number;
  records: InRecord[];
}

/**
 * Handles one batch. When the promise resolves, every side effect of the batch is durable and the
 * batch's offsets are committed; when it rejects, nothing is committed and the batch is redelivered
 * after a delay (on Kafka one that doubles while it keeps failing). A partition's next batch is
 * handed over only after this one's promise settled; other partitions' batches, and the next fetch,
 * do not wait. A batch's records and their headers are shared, read-only values.
 */
export type BatchHandler = (batch: InBatch) => Promise<void>;

export interface StreamProducer {
  /** Sends records and resolves when every broker replica acknowledged them (acks=all). */
  send(topic: string, records: OutRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group without committed offsets starts. Default true. */
  fromBeginning?: boolean;
  /** Partitions handled at the same time (one user's records stay in order regardless). */
  concurrency?: number;
  /** How much one fetch may bring (bigger batches: fewer handler calls, commits and round trips). */
  fetch?: FetchOptions;
  /**
   * Called with the partitions this member holds whenever the group hands them out (after every
   * join), so a service can act on a partition before any record of it arrives (e.g. write a tick to
   * a quiet partition it just took over).
   */
  onAssignment?: (assignment: Assignment[]) => void;
}

/** Partitions of one topic held by a consumer. */
export interface Assignment {
  topic: string;
  partitions: number[];
}

/** Fetch sizes of a consumer (Kafka's fetch request settings; the memory broker ignores them). */
export interface FetchOptions {
  /** Bytes per partition in one fetch response. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Bytes of one fetch response, all partitions. Default 10 MiB. */
  maxBytes?: number;
  /** The broker answers once it has this many bytes, or after `maxWaitMs`. Default 1. */
  minBytes?: number;
  /** Longest the broker waits for `minBytes`, ms. Default 100. */
  maxWaitMs?: number;
}

export interface StreamConsumer {
  /** Starts consuming; resolves once the consumer is running. */
  start(handler: BatchHandler): Promise<void>;
  /** Stops after the batches in flight are handled and committed. */
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
}

/** How far a consumer group is behind on one partition. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /**
   * Records appended but not yet committed by the group: log end − committed offset (with nothing
   * committed yet, from the start of the log, as the consumers here start from the beginning).
   */
  lag: number;
}

/** Where a partition's log starts and ends, and where a consumer group stands on it. */
export interface PartitionOffsets {
  partition: number;
  /** Offset of the oldest record still on the log (retention removes older ones). */
  low: string;
  /** Offset the next record appended gets (log end). */
  high: string;
  /** The group's committed offset (the next record it will consume), or undefined when none. */
  committed?: string;
}

export interface StreamAdmin {
  /** Log start, log end and `groupId`'s committed offset of every partition of `topic`. */
  partitionOffsets(groupId: string, topic: string): Promise<PartitionOffsets[]>;
  /** Lag of `groupId` on every partition of `topics`, from the cluster (not from the consumer's own batches). */
  groupLag(groupId: string, topics: string[]): Promise<PartitionLag[]>;
  /** Creates the topics that are missing; existing ones are left as they are. */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  /** Partition count of an existing topic. */
  partitionCount(topic: string): Promise<number>;
  /** Deletes topics (benchmarks and tests clean up after themselves); missing ones are ignored. */
  deleteTopics(topics: string[]): Promise<void>;
  /** Deletes consumer groups with no member left (their committed offsets); missing ones are ignored. */
  deleteGroups(groupIds: string[]): Promise<void>;
  close(): Promise<void>;
}

/** Factory of producers, consumers and an admin over one cluster (or one in-memory broker). */
export interface Stream {
  producer(): StreamProducer;
  consumer(options: ConsumerOptions): StreamConsumer;
  admin(): StreamAdmin;
}
