import { create, toBinary } from '@bufbuild/protobuf';
import {
  BehaviorEventSchema,
  EventType,
  entryMsOf,
  LIVE_RUN_ID,
  RecordHeaders,
  type SemantizedWindow,
  SemantizedWindowSchema,
} from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { MemoryBroker, type Stream } from '@personastream/stream';
import { describe, expect, it } from 'vitest';
import {
  CheckpointBaseMismatch,
  type CheckpointScope,
  type CheckpointWrite,
  MemoryCheckpointStore,
} from './adapters/checkpoints.js';
import { defaultSemantizerConfig } from './config.js';
import { semantizeEvents } from './core/semantizer.js';
import { createSemantizerService, DlqHeaders, windowRecord } from './service.js';
import { generateEvents } from './testing/generator.js';
import { endOfRunRecords, eventRecord, readWindows } from './testing/records.js';

const config = { ...defaultSemantizerConfig, tokenizer: 'none' as const, groupId: 'sem-test' };
const events = generateEvents({ users: 12, days: 3, seed: 31 });
const RUN = 'run-31';

function service(broker: MemoryBroker, checkpoints = new MemoryCheckpointStore()) {
  return createSemantizerService(config, {
    stream: broker,
    checkpoints,
    logger: silentLogger(),
    registry: createRegistry('semantizer', false),
  });
}

function canon(ws: SemantizedWindow[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of ws) {
    const bytes = Buffer.from(toBinary(SemantizedWindowSchema, w)).toString('base64');
    const prev = m.get(w.windowId);
    if (prev !== undefined) expect(prev, `window ${w.windowId} produced twice with different contents`).toBe(bytes);
    m.set(w.windowId, bytes);
  }
  return m;
}

const reference = canon(semantizeEvents(events, { tokenizer: 'none' }).windows);

describe('window records', () => {
  it('carry the entry time as a header outside the window bytes, and none when it is unknown', () => {
    const w = semantizeEvents(events.slice(0, 50), { tokenizer: 'none' }).windows[0] as SemantizedWindow;
    const t = 1_780_000_123_456;
    const withEntry = windowRecord('demo/u', w, t);
    const without = windowRecord('demo/u', w);
    expect(withEntry.headers).toEqual({ 'ps-entry-ms': String(t) });
    expect(entryMsOf(withEntry.headers)).toBe(t);
    expect(without.headers).toBeUndefined();
    expect(entryMsOf(without.headers)).toBe(0);
    expect(Buffer.from(withEntry.value).equals(Buffer.from(without.value))).toBe(true);
  });
});

describe('semantizer service (embedded: MemoryBroker + memory checkpoints)', () => {
  it('turns events into windows and forwarded markers, and bad records into DLQ records with headers', async () => {
    const broker = new MemoryBroker(4);
    const s = service(broker);
    await s.start();
    expect(s.health()).toBe(true);
    const producer = broker.producer();
    const bad = eventRecord({ ...(events[0] as (typeof events)[number]), userId: '' });
    const sentFrom = Date.now();
    await producer.send(config.topics.events, [
      ...events.map(eventRecord),
      { key: 'demo/u-x', value: new TextEncoder().encode('{"eventId":"broken"'), headers: { 'ps-malformed': '1' } },
      { ...bad, key: 'demo/u-31-00001' },
    ]);
    const sentTo = Date.now();
    await producer.send(config.topics.events, endOfRunRecords(RUN, 4));
    await broker.drained();
    await s.stop();

    const { windows, markers } = readWindows(broker.read(config.topics.windows));
    expect(canon(windows.map((w) => w.window))).toEqual(reference);
    // every window record carries when its newest event entered the pipeline (the events' record timestamps)
    for (const r of broker.read(config.topics.windows)) {
      if (r.key.startsWith('eor/')) expect(r.headers[RecordHeaders.entryMs]).toBeUndefined();
      else expect(entryMsOf(r.headers)).toSatisfy((t: number) => t >= sentFrom && t <= sentTo);
    }
    for (const w of windows) expect(w.key).toBe(`${w.window.tenant}/${w.window.userId}`);
    expect(markers).toHaveLength(4);
    for (const { partition, marker } of markers) {
      expect(marker.partition).toBe(partition);
      expect(marker.producer).toBe('semantizer');
      expect(marker.totalPartitions).toBe(4);
      expect(marker.runId).toBe(RUN);
      expect(marker.records).toBe(windows.filter((w) => w.partition === partition).length);
    }
    // every marker comes after the windows of its partition
    const recs = broker.read(config.topics.windows);
    for (let p = 0; p < 4; p++) {
      const mine = recs.filter((r) => r.partition === p);
      expect(mine.at(-1)?.key).toBe(`eor/${RUN}`);
    }

    const dlq = broker.read(config.topics.dlq);
    expect(dlq.map((r) => [r.headers[DlqHeaders.reason], r.headers[DlqHeaders.step]]).sort()).toEqual([
      ['malformed_event', 'decode'],
      ['missing_user_id', 'validate'],
    ]);
    const malformed = dlq.find((r) => r.headers[DlqHeaders.reason] === 'malformed_event');
    expect(new TextDecoder().decode(malformed?.value)).toBe('{"eventId":"broken"');
    expect(malformed?.key).toBe('demo/u-x');
    expect(malformed?.headers['ps-malformed']).toBe('1');
    expect(malformed?.headers[DlqHeaders.sourceTopic]).toBe(config.topics.events);
    expect(Number(malformed?.headers[DlqHeaders.sourcePartition])).toBeGreaterThanOrEqual(0);
    expect(malformed?.headers[DlqHeaders.sourceOffset]).toMatch(/^\d+$/);
  });

  it('resumes from checkpoints after a restart with different batching: same windows', async () => {
    const checkpoints = new MemoryCheckpointStore();
    const broker = new MemoryBroker(4, 37);
    const half = Math.floor(events.length / 2);
    const first = service(broker, checkpoints);
    await first.start();
    await broker.producer().send(config.topics.events, events.slice(0, half).map(eventRecord));
    await broker.drained();
    await first.stop();
    expect(checkpoints.saves).toBeGreaterThan(0);

    const second = service(broker, checkpoints);
    await second.start();
    await broker
      .producer()
      .send(config.topics.events, [...events.slice(half).map(eventRecord), ...endOfRunRecords(RUN, 4)]);
    await broker.drained();
    await second.stop();
    expect(canon(readWindows(broker.read(config.topics.windows)).windows.map((w) => w.window))).toEqual(reference);
  });

  it('a crash between producing and checkpointing only repeats identical windows', async () => {
    let n = 0;
    const store = new MemoryCheckpointStore();
    const flaky = Object.assign(Object.create(store) as MemoryCheckpointStore, {
      save: async (scope: CheckpointScope, w: CheckpointWrite) => {
        if (++n % 5 === 0) throw new Error('redis down');
        return store.save(scope, w);
      },
      load: (scope: CheckpointScope) => store.load(scope),
    });
    const broker = new MemoryBroker(4, 50);
    const s = service(broker, flaky);
    await s.start();
    await broker.producer().send(config.topics.events, [...events.map(eventRecord), ...endOfRunRecords(RUN, 4)]);
    await broker.drained();
    await s.stop();
    const { windows, markers } = readWindows(broker.read(config.topics.windows));
    expect(canon(windows.map((w) => w.window))).toEqual(reference);
    expect(windows.length).toBeGreaterThan(reference.size); // some were produced twice (identically)
    expect(new Set(markers.map((m) => m.partition)).size).toBe(4);
  });

  it('memory checkpoints refuse a field without its value, as Redis ones do', async () => {
    const store = new MemoryCheckpointStore();
    const scope = { group: 'g', topic: 't', partition: 0 };
    await store.save(scope, { offset: '1', meta: 'm', set: ['U\u0000a', '1'], del: [], delPrefixes: [] });
    await expect(
      store.save(scope, { offset: '2', meta: 'm2', set: ['U\u0000b'], del: [], delPrefixes: [] }),
    ).rejects.toThrow(/field, value pairs/);
    expect(await store.load(scope)).toEqual({ offset: '1', meta: 'm', fields: { 'U\u0000a': '1' } });
  });
});

describe('semantizer service: a rolled-back checkpoint store (Redis lost writes)', () => {
  const rollbacks = async (registry: ReturnType<typeof createRegistry>, recovery: string) => {
    const m = (await registry.getSingleMetric('semantizer_state_rollbacks_total')?.get())?.values ?? [];
    return m.filter((v) => v.labels.recovery === recovery).reduce((n, v) => n + v.value, 0);
  };
  function counted(stream: Stream, checkpoints: MemoryCheckpointStore) {
    const registry = createRegistry('semantizer', false);
    const s = createSemantizerService(config, { stream, checkpoints, logger: silentLogger(), registry });
    return { s, registry };
  }

  it('memory checkpoints refuse a delta over another offset than its base, and change nothing', async () => {
    const store = new MemoryCheckpointStore();
    const scope = { group: 'g', topic: 't', partition: 0 };
    const w = { meta: 'm', set: ['U\u0000a', '1'], del: [], delPrefixes: [] };
    expect(await store.save(scope, { ...w, offset: '5', base: '' })).toBe(true);
    await expect(store.save(scope, { ...w, offset: '9', base: '7' })).rejects.toThrow(CheckpointBaseMismatch);
    await expect(store.save(scope, { ...w, offset: '9', base: '' })).rejects.toThrow(/at offset 5, not at none/);
    expect((await store.load(scope))?.offset).toBe('5');
    expect(await store.save(scope, { ...w, offset: '9', base: '5' })).toBe(true);
  });

  it('a restart on checkpoints older than the committed offsets replays the gap: the same windows', async () => {
    const store = new MemoryCheckpointStore();
    const broker = new MemoryBroker(4, 37);
    const half = Math.floor(events.length / 2);
    const first = counted(broker, store);
    await first.s.start();
    await broker.producer().send(config.topics.events, events.slice(0, half / 2).map(eventRecord));
    await broker.drained();
    const old = store.snapshot();
    await broker.producer().send(config.topics.events, events.slice(half / 2, half).map(eventRecord));
    await broker.drained();
    await first.s.stop();
    store.rollBackTo(old);
    const second = counted(broker, store);
    await second.s.start();
    await broker
      .producer()
      .send(config.topics.events, [...events.slice(half).map(eventRecord), ...endOfRunRecords(RUN, 4)]);
    await broker.drained();
    await second.s.stop();
    expect(canon(readWindows(broker.read(config.topics.windows)).windows.map((w) => w.window))).toEqual(reference);
    expect(await rollbacks(second.registry, 'replay')).toBeGreaterThan(0);
  });

  it('a running instance whose checkpoints roll back notices at its next save and replays: the same windows', async () => {
    const store = new MemoryCheckpointStore();
    const broker = new MemoryBroker(4, 37);
    const third = Math.floor(events.length / 3);
    const first = counted(broker, store);
    await first.s.start();
    await broker.producer().send(config.topics.events, events.slice(0, third).map(eventRecord));
    await broker.drained();
    const old = store.snapshot();
    await broker.producer().send(config.topics.events, events.slice(third, 2 * third).map(eventRecord));
    await broker.drained();
    store.rollBackTo(old);
    await broker.producer().send(config.topics.events, events.slice(2 * third).map(eventRecord));
    await broker.drained();
    await first.s.stop();
    expect(await rollbacks(first.registry, 'replay')).toBeGreaterThan(0);
    // a new instance goes on from what the first one left
    const second = counted(broker, store);
    await second.s.start();
    await broker.producer().send(config.topics.events, endOfRunRecords(RUN, 4));
    await broker.drained();
    await second.s.stop();
    expect(canon(readWindows(broker.read(config.topics.windows)).windows.map((w) => w.window))).toEqual(reference);
  });

  it('stops the partition with an error naming the offsets when retention removed the records to replay', async () => {
    const store = new MemoryCheckpointStore();
    const broker = new MemoryBroker(1, 1000);
    const one = { ...config };
    const first = createSemantizerService(one, {
      stream: broker,
      checkpoints: store,
      logger: silentLogger(),
      registry: createRegistry('semantizer', false),
    });
    await first.start();
    await broker.producer().send(config.topics.events, events.slice(0, 50).map(eventRecord));
    await broker.drained();
    const old = store.snapshot();
    await broker.producer().send(config.topics.events, events.slice(50, 100).map(eventRecord));
    await broker.drained();
    await first.stop();
    store.rollBackTo(old);
    const oldOffset = (await store.load({ group: config.groupId, topic: config.topics.events, partition: 0 }))?.offset;
    // the topic now starts after the checkpoint: those records cannot be replayed
    const base = broker.admin();
    const retained: Stream = {
      producer: () => broker.producer(),
      consumer: (o) => broker.consumer(o),
      admin: () => ({
        ...base,
        partitionOffsets: async (g, t) => (await base.partitionOffsets(g, t)).map((p) => ({ ...p, low: '75' })),
      }),
    };
    const errors: unknown[] = [];
    const logger = silentLogger();
    logger.error = ((obj: unknown) => void errors.push(obj)) as typeof logger.error;
    const registry = createRegistry('semantizer', false);
    const second = createSemantizerService(one, { stream: retained, checkpoints: store, logger, registry });
    await second.start();
    await broker.producer().send(config.topics.events, events.slice(100, 110).map(eventRecord));
    for (let i = 0; i < 50 && second.health(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(second.health()).toBe(false);
    expect(await rollbacks(registry, 'stopped')).toBe(1);
    const failure = errors.find((e) => (e as { err?: unknown }).err !== undefined) as { err: Error };
    expect(failure.err.message).toMatch(
      new RegExp(
        `partition 0 .*checkpoint ends at offset ${oldOffset} but the group committed offset 100 .*starts at offset 75.*README`,
      ),
    );
    await second.stop();
    // nothing went on past the gap
    expect((await store.load({ group: config.groupId, topic: config.topics.events, partition: 0 }))?.offset).toBe(
      oldOffset,
    );
  });
});

describe('semantizer service: live runs (ticks in band, a fake clock)', () => {
  const live = { ...config, gapMs: 60_000, latenessMs: 30_000, earlyEveryMs: 20_000, tickMs: 0 };
  const now0 = Date.now();
  const liveEvents = (user: string, n: number, from: number) =>
    Array.from({ length: n }, (_, k) =>
      create(BehaviorEventSchema, {
        eventId: `${user}-${from + k}`,
        tenant: 'acme',
        userId: user,
        eventTimeMs: now0 + (from + k) * 5_000,
        type: EventType.ITEM_VIEW,
        item: { id: `i${k % 3}`, categoryPath: ['Electronics', 'Audio'], brand: 'Sony', price: 99 },
        dwellMs: 20_000,
        runId: LIVE_RUN_ID,
      }),
    );

  function liveService(broker: MemoryBroker, checkpoints: MemoryCheckpointStore, clock: { now: number }) {
    const registry = createRegistry('semantizer', false);
    const s = createSemantizerService(live, {
      stream: broker,
      checkpoints,
      logger: silentLogger(),
      registry,
      clock: () => clock.now,
    });
    return { s, registry };
  }

  it('closes a quiet user without any new event, shows a session in progress early, and survives a restart', async () => {
    const broker = new MemoryBroker(4);
    const checkpoints = new MemoryCheckpointStore();
    const clock = { now: now0 };
    const first = liveService(broker, checkpoints, clock);
    await first.s.start();
    const producer = broker.producer();
    await producer.send(config.topics.events, liveEvents('u1', 4, 0).map(eventRecord));
    await broker.drained();
    expect(readWindows(broker.read(config.topics.windows)).windows).toHaveLength(0);

    clock.now = now0 + 1_000;
    await first.s.punctuate();
    await broker.drained();
    const early = readWindows(broker.read(config.topics.windows)).windows.map((w) => w.window);
    expect(early.map((w) => [w.provisional, w.revision, w.eventCount])).toEqual([[true, 1, 4]]);
    const gauge = async (r: typeof first.registry) =>
      (await r.getSingleMetric('semantizer_state_users')?.get())?.values[0]?.value;
    expect(await gauge(first.registry)).toBe(1);
    await first.s.stop();

    // a restart: the open session is in the checkpoint; the user sends one more event, then goes quiet
    const second = liveService(broker, checkpoints, clock);
    await second.s.start();
    await producer.send(config.topics.events, liveEvents('u1', 1, 4).map(eventRecord));
    await broker.drained();
    clock.now = now0 + 2_000 + live.gapMs + live.latenessMs;
    await second.s.punctuate();
    await broker.drained();
    const all = readWindows(broker.read(config.topics.windows)).windows.map((w) => w.window);
    const finals = all.filter((w) => !w.provisional);
    expect(finals.map((w) => [w.seq, w.eventCount])).toEqual([[0, 5]]);
    expect(await gauge(second.registry)).toBe(0);
    // nothing left to tick for: punctuate writes no tick
    const ticksBefore = broker.read(config.topics.events).length;
    await second.s.punctuate();
    expect(broker.read(config.topics.events).length).toBe(ticksBefore);
    await second.s.stop();
  });

  it('dead-letters a marker that would end the live run or names no tenant, and scopes markers by tenant', async () => {
    const broker = new MemoryBroker(4);
    const clock = { now: now0 };
    const { s } = liveService(broker, new MemoryCheckpointStore(), clock);
    await s.start();
    const producer = broker.producer();
    const finite = (tenant: string) =>
      liveEvents('u2', 3, 0).map((e) => eventRecord(create(BehaviorEventSchema, { ...e, tenant, runId: 'r' })));
    await producer.send(config.topics.events, [...finite('acme'), ...finite('globex')]);
    await producer.send(config.topics.events, [
      ...endOfRunRecords(LIVE_RUN_ID, 4, 'globex'),
      ...endOfRunRecords('r', 4, ''),
      ...endOfRunRecords('r', 4, 'globex'),
    ]);
    await broker.drained();
    await s.stop();
    const reasons = broker.read(config.topics.dlq).map((r) => r.headers[DlqHeaders.reason]);
    expect(reasons.filter((r) => r === 'live_run_never_ends')).toHaveLength(4);
    expect(reasons.filter((r) => r === 'marker_without_tenant')).toHaveLength(4);
    const { windows, markers } = readWindows(broker.read(config.topics.windows));
    // globex's run r ended; acme's run r (same id) is still open
    expect(windows.map((w) => w.window.tenant)).toEqual(['globex']);
    expect(markers.map((m) => m.marker.tenant)).toEqual(['globex', 'globex', 'globex', 'globex']);
  });
});
