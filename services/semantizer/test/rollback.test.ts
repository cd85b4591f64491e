import { createLogger, createRegistry } from '@personastream/runtime';
import type { Stream } from '@personastream/stream';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCheckpointStore } from '../src/adapters/checkpoints.js';
import { defaultSemantizerConfig } from '../src/config.js';
import { semantizeEvents } from '../src/core/semantizer.js';
import { createSemantizerService, type SemantizerService } from '../src/service.js';
import { generateEvents } from '../src/testing/generator.js';
import { endOfRunRecords, eventRecord, readWindows } from '../src/testing/records.js';
import { allMarkers, deleteKeys, infraEnv, kafka, redis, TopicReader, testNames, windowSet } from './helpers.js';

/**
 * Redis rollback (issue 20, item 2): Redis loses acknowledged checkpoint writes (a restored
 * snapshot, a failover to a lagging replica) whose Kafka offsets the group already committed. The
 * restarted semantizer must notice that its checkpoint is behind the committed offset and replay
 * the gap from the topic — the windows topic then holds exactly an uninterrupted run's windows.
 */

infraEnv();
const PARTITIONS = 2;

function startService(stream: Stream, names: ReturnType<typeof testNames>) {
  const config = {
    ...defaultSemantizerConfig,
    topics: names.topics,
    groupId: names.groupId,
    tokenizer: 'none' as const,
  };
  const registry = createRegistry('semantizer', false);
  const service = createSemantizerService(config, {
    stream,
    checkpoints: new RedisCheckpointStore(redis(), { prefix: names.prefix }),
    logger: createLogger('semantizer', process.env.TEST_LOG_LEVEL ?? 'error'),
    registry,
  });
  return { service, registry };
}

/** Waits until the group has committed everything on the events topic. */
async function caughtUp(stream: Stream, names: ReturnType<typeof testNames>): Promise<void> {
  const admin = stream.admin();
  const deadline = Date.now() + 90_000;
  try {
    for (;;) {
      const lag = await admin.groupLag(names.groupId, [names.topics.events]);
      if (lag.length === PARTITIONS && lag.every((l) => l.lag === 0)) return;
      if (Date.now() > deadline) throw new Error(`group not caught up after 90 s: ${JSON.stringify(lag)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.close();
  }
}

/** Reads the rollback counter of a registry (all recoveries). */
async function rollbacksOf(registry: ReturnType<typeof createRegistry>): Promise<number> {
  const text = await registry.metrics();
  let n = 0;
  for (const m of text.matchAll(/^semantizer_state_rollbacks_total(?:\{[^}]*\})? (\d+)/gm)) n += Number(m[1]);
  return n;
}

type Names = ReturnType<typeof testNames>;

/** Topics, the run's events and a fault-free run's windows (the same core, the same partitioning). */
async function setup(stream: Stream, names: Names) {
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: names.topics.events, partitions: PARTITIONS },
    { topic: names.topics.windows, partitions: PARTITIONS },
    { topic: names.topics.dlq, partitions: 1 },
  ]);
  await admin.close();
  const runId = `run-${names.id}`;
  const events = generateEvents({ users: 12, days: 4, seed: 77, runId });
  const expected = windowSet(semantizeEvents(events, { tokenizer: 'none', partitions: PARTITIONS }).windows);
  return { runId, events, expected };
}

/** DUMP of every key under the test's prefix. */
async function snapshotKeys(r: Redis, prefix: string): Promise<Map<string, Buffer>> {
  const snapshot = new Map<string, Buffer>();
  for (const k of await r.keys(`${prefix}*`)) snapshot.set(k, (await r.dumpBuffer(k)) as Buffer);
  return snapshot;
}

/** Redis rolls back to `snapshot`: the older values come back (RESTORE), later keys are gone. */
async function rollBack(r: Redis, prefix: string, snapshot: Map<string, Buffer>): Promise<void> {
  for (const k of await r.keys(`${prefix}*`)) if (!snapshot.has(k)) await r.del(k);
  for (const [k, v] of snapshot) await r.restore(k, 0, v, 'REPLACE');
}

describe('semantizer after a Redis rollback (real Kafka + Redis)', () => {
  const r = redis();
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(r, p);
    r.disconnect();
  });

  it('restarted on a checkpoint older than the committed offset: the gap is replayed, no window missing or changed', async () => {
    const names = testNames('rollback');
    prefixes.push(names.prefix);
    const stream = kafka('it-rollback');
    const { runId, events, expected } = await setup(stream, names);
    const reader = new TopicReader(stream, names.topics.windows, `${names.groupId}.reader`);
    await reader.start();
    const producer = stream.producer();
    let second: SemantizerService | undefined;
    let rollbacks = 0;
    try {
      // 1. the first half, processed and committed; snapshot the checkpoint keys (DUMP)
      const half = Math.floor(events.length / 2);
      const first = startService(stream, names);
      await first.service.start();
      await producer.send(names.topics.events, events.slice(0, half).map(eventRecord));
      await caughtUp(stream, names);
      const snapshot = await snapshotKeys(r, names.prefix);
      expect(snapshot.size).toBeGreaterThan(0);
      // 2. the second half, processed and committed; then the instance stops
      await producer.send(names.topics.events, events.slice(half).map(eventRecord));
      await caughtUp(stream, names);
      await first.service.stop();
      // 3. Redis rolls back; 4. a new instance finishes the run
      await rollBack(r, names.prefix, snapshot);
      const restarted = startService(stream, names);
      second = restarted.service;
      await second.start();
      await producer.send(names.topics.events, endOfRunRecords(runId, PARTITIONS));
      await reader.until(allMarkers(runId, PARTITIONS), 'end-of-run markers on every partition after the rollback');
      rollbacks = await rollbacksOf(restarted.registry);
    } finally {
      await second?.stop();
      await producer.close();
      await reader.stop();
    }
    const { windows } = readWindows(reader.records);
    expect(windowSet(windows.map((w) => w.window))).toEqual(expected);
    // the rollback was noticed (counted), not passed over silently
    expect(rollbacks).toBeGreaterThan(0);
  }, 240_000);

  it('rolled back under a running instance: its next save notices and replays, a restart from its checkpoints changes no window', async () => {
    const names = testNames('rollback-live');
    prefixes.push(names.prefix);
    const stream = kafka('it-rollback-live');
    const { runId, events, expected } = await setup(stream, names);
    const reader = new TopicReader(stream, names.topics.windows, `${names.groupId}.reader`);
    await reader.start();
    const producer = stream.producer();
    const first = startService(stream, names);
    let second: SemantizerService | undefined;
    let rollbacks = 0;
    try {
      await first.service.start();
      const third = Math.floor(events.length / 3);
      await producer.send(names.topics.events, events.slice(0, third).map(eventRecord));
      await caughtUp(stream, names);
      const snapshot = await snapshotKeys(r, names.prefix);
      await producer.send(names.topics.events, events.slice(third, 2 * third).map(eventRecord));
      await caughtUp(stream, names);
      // Redis rolls back while the instance holds the newer state in memory; it goes on saving deltas
      await rollBack(r, names.prefix, snapshot);
      await producer.send(names.topics.events, events.slice(2 * third).map(eventRecord));
      await caughtUp(stream, names);
      rollbacks = await rollbacksOf(first.registry);
      expect(first.service.health()).toBe(true);
      await first.service.stop();
      // a new instance goes on from the checkpoints the first one left
      second = startService(stream, names).service;
      await second.start();
      await producer.send(names.topics.events, endOfRunRecords(runId, PARTITIONS));
      await reader.until(allMarkers(runId, PARTITIONS), 'end-of-run markers on every partition');
    } finally {
      await second?.stop();
      await producer.close();
      await reader.stop();
    }
    const { windows } = readWindows(reader.records);
    expect(windowSet(windows.map((w) => w.window))).toEqual(expected);
    expect(rollbacks).toBeGreaterThan(0);
  }, 240_000);
});
