import { partitionForKey } from '@personastream/contracts';
import { StreamRewind } from './rewind.js';
import type {
  BatchHandler,
  ConsumerOptions,
  InRecord,
  OutRecord,
  PartitionOffsets,
  Stream,
  StreamAdmin,
  StreamConsumer,
  StreamProducer,
  TopicSpec,
} from './types.js';

interface Log {
  records: InRecord[];
}

/**
 * An in-process broker with Kafka's semantics where they matter here: partitioned append-only logs,
 * per-group committed offsets, in-order delivery per partition, redelivery of a failed batch.
 * Used by the embedded mode and fast tests.
 */
export class MemoryBroker implements Stream {
  private readonly topics = new Map<string, Log[]>();
  private readonly committed = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private busyPumps = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly defaultPartitions = 4,
    private readonly maxBatch = 500,
  ) {}

  createTopic(topic: string, partitions: number): void {
    if (this.topics.has(topic)) return;
    this.topics.set(
      topic,
      Array.from({ length: partitions }, () => ({ records: [] })),
    );
  }

  partitions(topic: string): Log[] {
    let logs = this.topics.get(topic);
    if (!logs) {
      this.createTopic(topic, this.defaultPartitions);
      logs = this.topics.get(topic) as Log[];
    }
    return logs;
  }

  /** Every record of a topic, partition by partition (tests and inspection). */
  read(topic: string): InRecord[] {
    return this.partitions(topic).flatMap((l) => l.records);
  }

  append(topic: string, records: OutRecord[]): void {
    const logs = this.partitions(topic);
    for (const r of records) {
      const partition = r.partition ?? partitionForKey(r.key, logs.length);
      const log = logs[partition];
      if (!log) throw new Error(`topic ${topic} has no partition ${partition}`);
      log.records.push({
        topic,
        partition,
        offset: String(log.records.length),
        key: r.key,
        value: r.value,
        headers: { ...(r.headers ?? {}) },
        timestamp: Date.now(),
      });
    }
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves when every consumer has handled everything in its topics. */
  async drained(): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (this.busyPumps === 0 && !this.hasBacklog()) return;
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  producer(): StreamProducer {
    return {
      send: async (topic, records) => this.append(topic, records),
      close: async () => {},
    };
  }

  admin(): StreamAdmin {
    return {
      groupLag: async (groupId, topics) =>
        topics.flatMap((topic) =>
          this.partitions(topic).map((log, partition) => ({
            topic,
            partition,
            lag: log.records.length - (this.committed.get(`${groupId}|${topic}|${partition}`) ?? 0),
          })),
        ),
      partitionOffsets: async (groupId, topic) =>
        this.partitions(topic).map((log, partition) => {
          const committed = this.committed.get(`${groupId}|${topic}|${partition}`);
          const out: PartitionOffsets = { partition, low: '0', high: String(log.records.length) };
          if (committed !== undefined) out.committed = String(committed);
          return out;
        }),
      ensureTopics: async (specs: TopicSpec[]) => {
        for (const s of specs) this.createTopic(s.topic, s.partitions);
      },
      partitionCount: async (topic) => this.partitions(topic).length,
      deleteTopics: async (topics) => {
        for (const t of topics) this.topics.delete(t);
      },
      deleteGroups: async (groupIds) => {
        const gone = new Set(groupIds);
        for (const k of [...this.committed.keys()]) if (gone.has(k.slice(0, k.indexOf('|')))) this.committed.delete(k);
      },
      close: async () => {},
    };
  }

  consumer(options: ConsumerOptions): StreamConsumer {
    let running = false;
    const pumps: Promise<void>[] = [];
    const broker = this;
    const offsetKey = (topic: string, p: number) => `${options.groupId}|${topic}|${p}`;
    this.groups.add(options);

    async function pump(topic: string, partition: number, handler: BatchHandler): Promise<void> {
      const log = broker.partitions(topic)[partition] as Log;
      while (running) {
        const from = broker.committed.get(offsetKey(topic, partition)) ?? 0;
        if (from >= log.records.length) {
          await new Promise<void>((resolve) => {
            const wake = () => {
              broker.waiters.delete(wake);
              resolve();
            };
            broker.waiters.add(wake);
            broker.stopWakers.add(wake);
            broker.notifyIdle();
          });
          continue;
        }
        const records = log.records.slice(from, from + broker.maxBatch);
        broker.busyPumps++;
        try {
          await handler({ topic, partition, records });
          broker.committed.set(offsetKey(topic, partition), from + records.length);
        } catch (err) {
          // not committed: the batch is redelivered, as Kafka would after a failed batch (from
          // where a rewind asks)
          if (err instanceof StreamRewind) broker.committed.set(offsetKey(topic, partition), Number(err.offset));
          await new Promise((r) => setTimeout(r, 10));
        } finally {
          broker.busyPumps--;
        }
      }
    }

    return {
      start: async (handler) => {
        running = true;
        // one member per group here: it holds every partition
        options.onAssignment?.(
          options.topics.map((topic) => ({
            topic,
            partitions: this.partitions(topic).map((_, p) => p),
          })),
        );
        for (const topic of options.topics) {
          const n = this.partitions(topic).length;
          for (let p = 0; p < n; p++) pumps.push(pump(topic, p, handler));
        }
      },
      stop: async () => {
        running = false;
        for (const wake of [...this.stopWakers]) wake();
        await Promise.all(pumps);
        this.groups.delete(options);
      },
    };
  }

  private readonly groups = new Set<ConsumerOptions>();
  private readonly stopWakers = new Set<() => void>();

  private hasBacklog(): boolean {
    for (const g of this.groups) {
      for (const topic of g.topics) {
        const logs = this.partitions(topic);
        for (let p = 0; p < logs.length; p++) {
          const committed = this.committed.get(`${g.groupId}|${topic}|${p}`) ?? 0;
          if (committed < (logs[p] as Log).records.length) return true;
        }
      }
    }
    return false;
  }

  private notifyIdle(): void {
    if (this.busyPumps === 0 && !this.hasBacklog()) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }
}
