import { randomBytes } from 'node:crypto';
import { toBinary } from '@bufbuild/protobuf';
import { type EndOfRun, type SemantizedWindow, SemantizedWindowSchema } from '@personastream/contracts';
import { createLogger, deleteKeysWithPrefix } from '@personastream/runtime';
import { createKafkaStream, type InRecord, type Stream, type StreamConsumer } from '@personastream/stream';
import { Redis } from 'ioredis';
import { readWindows } from '../src/testing/records.js';

/** Addresses of the real infrastructure; fails loudly when they are not set. */
export function infraEnv(): { KAFKA_BROKERS: string; REDIS_URL: string } {
  const { KAFKA_BROKERS, REDIS_URL } = process.env;
  const missing = [!KAFKA_BROKERS && 'KAFKA_BROKERS', !REDIS_URL && 'REDIS_URL'].filter(Boolean);
  if (missing.length > 0) {
    throw new Error(
      `semantizer integration tests need ${missing.join(' and ')} (start the stack with "npx personastream infra up", then: set -a; . .infra/env; set +a)`,
    );
  }
  return { KAFKA_BROKERS: KAFKA_BROKERS as string, REDIS_URL: REDIS_URL as string };
}

/** Names private to one test: topics, consumer group, Redis key prefix, run id. */
export function testNames(kind: string) {
  const id = `${kind}.${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  return {
    id,
    topics: { events: `it.sem.${id}.events`, windows: `it.sem.${id}.windows`, dlq: `it.sem.${id}.dlq` },
    groupId: `it.sem.${id}`,
    prefix: `it:sem:${id}:`,
  };
}

export function kafka(clientId: string): Stream {
  const { KAFKA_BROKERS } = infraEnv();
  return createKafkaStream(
    { brokers: KAFKA_BROKERS.split(','), clientId },
    { logger: createLogger(clientId, process.env.TEST_LOG_LEVEL ?? 'error') },
  );
}

export function redis(): Redis {
  return new Redis(infraEnv().REDIS_URL, { maxRetriesPerRequest: 3 });
}

/** Deletes a test's Redis keys. */
export const deleteKeys = deleteKeysWithPrefix;

/** Reads a topic from the beginning with its own group, collecting every record. */
export class TopicReader {
  readonly records: InRecord[] = [];
  private readonly seen = new Set<string>();
  private consumer: StreamConsumer | undefined;

  constructor(
    private readonly stream: Stream,
    private readonly topic: string,
    private readonly groupId: string,
  ) {}

  async start(): Promise<void> {
    this.consumer = this.stream.consumer({ groupId: this.groupId, topics: [this.topic] });
    await this.consumer.start(async (batch) => {
      // A consumer may see a record again (re-delivery); keep each (partition, offset) once.
      for (const r of batch.records) {
        const id = `${r.partition}:${r.offset}`;
        if (this.seen.has(id)) continue;
        this.seen.add(id);
        this.records.push(r);
      }
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Resolves once `done(records)` holds; rejects after `timeoutMs` with `what` in the message. */
  async until(done: (records: InRecord[]) => boolean, what: string, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.records)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** True when the windows topic holds an end-of-run marker of `runId` on every partition. */
export function allMarkers(runId: string, partitions: number) {
  return (records: InRecord[]) => {
    const seen = new Set<number>();
    for (const m of readWindows(records).markers) if (m.marker.runId === runId) seen.add(m.partition);
    return seen.size === partitions;
  };
}

export function markersOf(records: InRecord[]): { partition: number; marker: EndOfRun }[] {
  return readWindows(records).markers;
}

/** Windows by id as bytes; fails if one id was produced with two different contents. */
export function windowSet(windows: SemantizedWindow[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of windows) {
    const bytes = Buffer.from(toBinary(SemantizedWindowSchema, w)).toString('base64');
    const prev = m.get(w.windowId);
    if (prev !== undefined && prev !== bytes)
      throw new Error(`window ${w.windowId} was produced with different contents`);
    m.set(w.windowId, bytes);
  }
  return m;
}
