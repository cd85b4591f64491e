import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import {
  BehaviorEventSchema,
  ErrorCode,
  EventType,
  endOfRun,
  NotableEventSchema,
  PersonaSchema,
  type PersonaStreamError,
  type PersonaUpdateRecord,
  PersonaUpdateRecordSchema,
  PersonaUpdateSchema,
  partitionForKey,
  type SemantizedWindow,
  SemantizedWindowSchema,
  userKey,
  WindowRecordSchema,
} from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { semantizeEvents } from '@personastream/semantizer';
import { type InBatch, MemoryBroker, type OutRecord } from '@personastream/stream';
import { describe, expect, it } from 'vitest';
import { MemoryPersonaStore } from './adapters/memory-store.js';
import { flippedDimensions } from './core/flips.js';
import { applyWindow, type PersonaState } from './core/state.js';
import { syntheticEarlyWindow, syntheticUsers } from './core/synthetic.js';
import { createPersonaService, encodeUpdate, wrapUpdate } from './service.js';
import { syntheticBackend } from './testing.js';

const backend = syntheticBackend();
const topics = { windows: 'w.test', updates: 'u.test' };

function setup(extra: Partial<Parameters<typeof createPersonaService>[0]> = {}) {
  const broker = new MemoryBroker(4);
  broker.createTopic(topics.windows, 4);
  broker.createTopic(topics.updates, 4);
  const store = new MemoryPersonaStore();
  const registry = createRegistry('persona-test', false);
  const service = createPersonaService(
    { topics, groupId: 'g', sensitiveOffTenants: ['private'], ...extra },
    { stream: broker, store, backend, logger: silentLogger(), registry },
  );
  return { broker, store, service, registry };
}

function windowRecord(w: SemantizedWindow): OutRecord {
  return {
    key: userKey(w.tenant, w.userId),
    value: toBinary(WindowRecordSchema, create(WindowRecordSchema, { kind: { case: 'window', value: w } })),
  };
}

function markers(runId: string, tenant = 't'): OutRecord[] {
  return [0, 1, 2, 3].map((p) => ({
    key: `eor/${runId}`,
    partition: p,
    value: toBinary(
      WindowRecordSchema,
      create(WindowRecordSchema, {
        kind: {
          case: 'endOfRun',
          value: endOfRun({ runId, partition: p, totalPartitions: 4, producer: 'semantizer', tenant }),
        },
      }),
    ),
  }));
}

function decodeAll(broker: MemoryBroker): Array<{ partition: number; rec: PersonaUpdateRecord }> {
  return broker
    .read(topics.updates)
    .map((r) => ({ partition: r.partition, rec: fromBinary(PersonaUpdateRecordSchema, r.value) }));
}

const users = syntheticUsers({ users: 6, seed: 11, tenant: 't', windowsPerUser: 8 });

/** A batch of window records on partition `partition`, each with its headers. */
function recordsBatch(
  partition: number,
  items: Array<{ w: SemantizedWindow; headers?: Record<string, string> } | OutRecord>,
  from = 0,
): InBatch {
  return {
    topic: topics.windows,
    partition,
    records: items.map((it, i) => {
      const rec = 'w' in it ? { ...windowRecord(it.w), headers: it.headers ?? {} } : { ...it, headers: {} };
      return { topic: topics.windows, partition, offset: String(from + i), timestamp: 0, ...rec };
    }),
  };
}

const updatesOf = (broker: MemoryBroker) =>
  decodeAll(broker).flatMap((o) => (o.rec.kind.case === 'update' ? [o.rec.kind.value] : []));

describe('wrapUpdate', () => {
  it('encodes PersonaUpdateRecord{update} exactly like toBinary, for small and large updates', () => {
    for (const summary of ['x', 'y'.repeat(300), 'z'.repeat(70_000)]) {
      const update = create(PersonaUpdateSchema, { windowId: 'w', persona: { tenant: 't', userId: 'u', summary } });
      const direct = toBinary(
        PersonaUpdateRecordSchema,
        create(PersonaUpdateRecordSchema, { kind: { case: 'update', value: update } }),
      );
      expect(wrapUpdate(toBinary(PersonaUpdateSchema, update))).toEqual(direct);
    }
  });

  it('encodes an update around an already encoded persona exactly like toBinary', () => {
    const update = create(PersonaUpdateSchema, {
      windowId: 'w1',
      runId: 'r',
      rawBytes: 123,
      samples: [{ tags: [{ dimension: 'age_band', value: '25-34', confidence: 0.5 }] }],
      persona: { tenant: 't', userId: 'u', version: 3, summary: 'x'.repeat(200) },
    });
    const personaBytes = toBinary(PersonaSchema, update.persona as NonNullable<typeof update.persona>);
    expect(encodeUpdate(update, personaBytes)).toEqual(toBinary(PersonaUpdateSchema, update));
  });
});

describe('persona service (embedded adapters)', () => {
  it('consumes windows, publishes one update per new window and forwards end-of-run markers after them', async () => {
    const { broker, service } = setup();
    await service.start();
    const windows = users.flatMap((u) => u.windows);
    await broker.producer().send(topics.windows, windows.map(windowRecord));
    // Duplicates (at-least-once redelivery upstream) publish nothing.
    await broker.producer().send(topics.windows, windows.slice(0, 5).map(windowRecord));
    await broker.producer().send(topics.windows, markers('synthetic'));
    await broker.drained();
    const out = decodeAll(broker);
    const updates = out.filter((o) => o.rec.kind.case === 'update');
    expect(updates).toHaveLength(windows.length);
    for (const p of [0, 1, 2, 3]) {
      const inP = out.filter((o) => o.partition === p);
      const last = inP[inP.length - 1]?.rec;
      expect(last?.kind.case).toBe('endOfRun');
      if (last?.kind.case === 'endOfRun') {
        expect(last.kind.value.producer).toBe('persona');
        expect(last.kind.value.records).toBe(inP.length - 1);
      }
    }
    // Versions increase by one per window, per user, in order.
    for (const u of users) {
      const versions = updates
        .map((o) => (o.rec.kind.case === 'update' ? o.rec.kind.value : undefined))
        .filter((up) => up?.persona?.userId === u.userId)
        .map((up) => up?.persona?.version);
      expect(versions).toEqual(u.windows.map((_, i) => i + 1));
      const up = updates.find((o) => o.rec.kind.case === 'update' && o.rec.kind.value.persona?.userId === u.userId);
      if (up?.rec.kind.case === 'update') {
        // k = 1 and the sample equals the persona's tags: sent as empty ("the persona's tags").
        expect(up.rec.kind.value.samples).toHaveLength(0);
        expect(up.rec.kind.value.rawBytes).toBeGreaterThan(0);
        expect(up.partition).toBe(partitionForKey(userKey('t', u.userId), 4));
      }
    }
    const p = await service.api.getPersona({ tenant: 't' }, { tenant: 't', userId: users[0]?.userId });
    expect(p.persona?.version).toBe(8);
    expect(p.persona?.summary.length).toBeGreaterThan(20);
    await service.stop();
  });

  it('republishes an update whose publication failed, but never applies it twice', async () => {
    const { broker, service, store } = setup();
    const realProducer = broker.producer.bind(broker);
    let failOnce = true;
    broker.producer = () => {
      const p = realProducer();
      return {
        send: async (topic, records) => {
          if (topic === topics.updates && failOnce) {
            failOnce = false;
            throw new Error('broker unavailable');
          }
          return p.send(topic, records);
        },
        close: p.close,
      };
    };
    const svc = createPersonaService(
      { topics, groupId: 'g2' },
      { stream: broker, store, backend, logger: silentLogger(), registry: createRegistry('x', false) },
    );
    void service;
    await svc.start();
    const u = users[1];
    if (!u) throw new Error('no user');
    await broker.producer().send(topics.windows, u.windows.slice(0, 3).map(windowRecord));
    await broker.drained();
    const updates = decodeAll(broker).filter((o) => o.rec.kind.case === 'update');
    expect(updates.map((o) => (o.rec.kind.case === 'update' ? o.rec.kind.value.persona?.version : 0))).toEqual([
      1, 2, 3,
    ]);
    expect((await store.get('t', u.userId))?.version).toBe(3);
    await svc.stop();
  });

  it('applies a batch per user in order, each window id once (duplicates in one batch and across batches)', async () => {
    const { broker, service, store } = setup({ consume: false });
    await service.start();
    const [a, b] = [users[4], users[5]] as [(typeof users)[number], (typeof users)[number]];
    const inBatch = (ws: SemantizedWindow[], from = 0): InBatch => ({
      topic: topics.windows,
      partition: 0,
      records: ws.map((w, i) => ({
        topic: topics.windows,
        partition: 0,
        offset: String(from + i),
        key: userKey(w.tenant, w.userId),
        value: windowRecord(w).value,
        headers: {},
        timestamp: 0,
      })),
    });
    const [a0, a1, a2, a3] = a.windows as [SemantizedWindow, SemantizedWindow, SemantizedWindow, SemantizedWindow];
    const [b0, b1, b2] = b.windows as [SemantizedWindow, SemantizedWindow, SemantizedWindow];
    // Users interleaved, a window repeated inside the batch.
    await service.handleBatch(inBatch([a0, b0, a1, a0, b1, a2, b0]));
    // Redelivery overlapping the first batch, plus new windows.
    await service.handleBatch(inBatch([a1, a2, a3, b1, b2, a3], 7));
    const updates = decodeAll(broker).flatMap((o) => (o.rec.kind.case === 'update' ? [o.rec.kind.value] : []));
    const of = (u: string) => updates.filter((x) => x.persona?.userId === u);
    expect(of(a.userId).map((x) => [x.windowId, x.persona?.version])).toEqual([
      [a0.windowId, 1],
      [a1.windowId, 2],
      [a2.windowId, 3],
      [a3.windowId, 4],
    ]);
    expect(of(b.userId).map((x) => [x.windowId, x.persona?.version])).toEqual([
      [b0.windowId, 1],
      [b1.windowId, 2],
      [b2.windowId, 3],
    ]);
    expect((await store.getState('t', a.userId))?.stats.windows).toBe(4);
    // Each update's persona is the one applying the windows one by one gives.
    let state: PersonaState | undefined;
    for (const [i, w] of [a0, a1, a2, a3].entries()) {
      state = applyWindow(state, w, backend, { nowMs: 0 }).state;
      const p = of(a.userId)[i]?.persona;
      expect(p?.tags).toEqual(state.persona.tags);
      expect(p?.summary).toBe(state.persona.summary);
    }
    await service.stop();
  });

  it("carries the window record's entry-time header into the update's ingest_time_ms (0 when unknown)", async () => {
    const { broker, service } = setup({ consume: false });
    await service.start();
    const u = users[3] as (typeof users)[number];
    const [w0, w1, w2] = u.windows as [SemantizedWindow, SemantizedWindow, SemantizedWindow];
    expect(w0.ingestTimeMs).toBeGreaterThan(0); // the events' own receipt time: not the entry time
    const entry = 1_780_000_000_000;
    const rec = (w: SemantizedWindow, i: number, headers: Record<string, string>) => ({
      topic: topics.windows,
      partition: 0,
      offset: String(i),
      key: userKey(w.tenant, w.userId),
      value: windowRecord(w).value,
      headers,
      timestamp: 0,
    });
    await service.handleBatch({
      topic: topics.windows,
      partition: 0,
      records: [
        rec(w0, 0, { 'ps-entry-ms': String(entry) }),
        rec(w1, 1, {}),
        rec(w2, 2, { 'ps-entry-ms': 'garbage', other: '1' }),
      ],
    });
    await service.api.applyWindows({ tenant: 't' }, { windows: [u.windows[3] as SemantizedWindow] });
    const updates = decodeAll(broker).flatMap((o) => (o.rec.kind.case === 'update' ? [o.rec.kind.value] : []));
    expect(updates.map((x) => [x.windowId, x.ingestTimeMs])).toEqual([
      [w0.windowId, entry],
      [w1.windowId, 0],
      [w2.windowId, 0],
      [u.windows[3]?.windowId, 0],
    ]);
    await service.stop();
  });

  it('shows early windows over the base, counts their events once, and fills early / first_entry_ms / flipped', async () => {
    const { broker, service, store, registry } = setup({ consume: false });
    await service.start();
    const u = users[0] as (typeof users)[number];
    const live = u.windows.map((w) => create(SemantizedWindowSchema, { ...w, runId: 'live' }));
    const f = (i: number) => live[i] as SemantizedWindow;
    const e1 = syntheticEarlyWindow(f(4), 1, 0.4);
    const e2 = syntheticEarlyWindow(f(4), 2, 0.8);
    const now = Date.now();
    const entry = (ms: number, first?: number): Record<string, string> =>
      first === undefined
        ? { 'ps-entry-ms': String(ms) }
        : { 'ps-entry-ms': String(ms), 'ps-entry-first-ms': String(first) };
    await service.handleBatch(
      recordsBatch(0, [
        { w: f(0), headers: entry(now - 3000, now - 4000) },
        { w: f(1) },
        { w: f(2), headers: entry(now - 500, now - 1500) },
        { w: f(3), headers: entry(now - 500, now - 1500) },
        { w: e1, headers: entry(now - 200, now - 700) },
      ]),
    );
    // The next batch: a later early window, a redelivered (stale) one, then the final window, whose
    // events all appeared in early windows (no ps-entry-first-ms), and a redelivery of an early one.
    await service.handleBatch(
      recordsBatch(
        0,
        [{ w: e2, headers: entry(now - 100, now - 300) }, { w: e1 }, { w: f(4), headers: entry(now) }, { w: e2 }],
        5,
      ),
    );
    const ups = updatesOf(broker).filter((x) => x.persona?.userId === u.userId);
    expect(ups.map((x) => [x.windowId, x.persona?.version, x.early, x.persona?.early])).toEqual([
      [f(0).windowId, 1, false, false],
      [f(1).windowId, 2, false, false],
      [f(2).windowId, 3, false, false],
      [f(3).windowId, 4, false, false],
      [e1.windowId, 5, true, true],
      [e2.windowId, 6, true, true],
      [f(4).windowId, 7, false, false],
    ]);
    expect(ups.map((x) => x.firstEntryMs)).toEqual([now - 4000, 0, now - 1500, now - 1500, now - 700, now - 300, 0]);
    expect(ups[0]?.flipped).toBe(0);
    ups.slice(1).forEach((x, i) => {
      expect(x.flipped).toBe(flippedDimensions(ups[i]?.persona?.tags ?? [], x.persona?.tags ?? []));
    });
    // Early windows never reached the statistics: the same as the final windows alone.
    let alone: PersonaState | undefined;
    for (const w of live.slice(0, 5)) alone = applyWindow(alone, w, backend, { nowMs: 0 }).state;
    const stored = await store.getState('t', u.userId);
    expect(JSON.stringify(stored?.stats)).toBe(JSON.stringify(alone?.stats));
    expect(stored?.overlay).toBeUndefined();
    const final = ups[6]?.persona;
    expect(final?.tags).toEqual(alone?.persona.tags);
    expect([final?.summary, final?.windowsSeen, final?.eventsSeen]).toEqual([
      alone?.persona.summary,
      alone?.persona.windowsSeen,
      alone?.persona.eventsSeen,
    ]);
    // Freshness: one observation per applied update with a first entry time, by early.
    const text = await registry.metrics();
    expect(text).toMatch(/persona_freshness_seconds_count\{[^}]*early="true"\} 2\n/);
    expect(text).toMatch(/persona_freshness_seconds_count\{[^}]*early="false"\} 3\n/);
    // f0 waited ≈ 4 s: above the 2.5 s bucket; f2 and f3 ≈ 1.5 s.
    expect(text).toMatch(/persona_freshness_seconds_bucket\{le="1",[^}]*early="false"\} 0\n/);
    expect(text).toMatch(/persona_freshness_seconds_bucket\{le="2.5",[^}]*early="false"\} 2\n/);
    expect(text).toMatch(/persona_freshness_seconds_bucket\{le="5",[^}]*early="false"\} 3\n/);
    await service.stop();
  });

  it("counts end-of-run markers per (tenant, run): another tenant's run of the same id is not counted", async () => {
    const { broker, service } = setup({ consume: false });
    await service.start();
    const a = users[1] as (typeof users)[number];
    const p = partitionForKey(userKey('t', a.userId), 4);
    // A user of tenant "other" whose updates land on the same partition of the updates topic.
    const otherUser = Array.from({ length: 200 }, (_, i) => `o${i}`).find(
      (id) => partitionForKey(userKey('other', id), 4) === p,
    ) as string;
    const run = 'shared-run-id';
    const mine = a.windows.slice(0, 3).map((w) => create(SemantizedWindowSchema, { ...w, runId: run }));
    const theirs = a.windows
      .slice(0, 4)
      .map((w) => create(SemantizedWindowSchema, { ...w, runId: run, tenant: 'other', userId: otherUser }));
    await service.handleBatch(
      recordsBatch(
        p,
        mine.map((w) => ({ w })),
      ),
    );
    // The other tenant pushes windows of a run with the same id through the API ...
    expect((await service.api.applyWindows({ tenant: 'other' }, { windows: theirs })).applied).toBe(4);
    // ... and cannot push into this tenant's users (its run included).
    await expect(service.api.applyWindows({ tenant: 'other' }, { windows: mine })).rejects.toMatchObject({
      code: ErrorCode.PermissionDenied,
    });
    const marker = markers(run, 't')[p] as OutRecord;
    await service.handleBatch(recordsBatch(p, [marker], 10));
    const out = decodeAll(broker).filter((o) => o.partition === p);
    const fwd = out.find((o) => o.rec.kind.case === 'endOfRun')?.rec;
    if (fwd?.kind.case !== 'endOfRun') throw new Error('no marker forwarded');
    expect(fwd.kind.value.tenant).toBe('t');
    expect(fwd.kind.value.runId).toBe(run);
    expect(fwd.kind.value.records).toBe(3);
    expect(out.filter((o) => o.rec.kind.case === 'update')).toHaveLength(7);
    // The other tenant's marker of the same run id counts its own updates.
    await service.handleBatch(recordsBatch(p, [markers(run, 'other')[p] as OutRecord], 11));
    const fwd2 = decodeAll(broker).filter((o) => o.partition === p && o.rec.kind.case === 'endOfRun')[1]?.rec;
    expect(fwd2?.kind.case === 'endOfRun' ? [fwd2.kind.value.tenant, fwd2.kind.value.records] : []).toEqual([
      'other',
      4,
    ]);
    await service.stop();
  });

  it('applies pushed windows by seq: a step back in one request is refused, a repeated window is a duplicate', async () => {
    const { service } = setup({ consume: false });
    await service.start();
    const t = { tenant: 't' };
    const u = users[4] as (typeof users)[number];
    const ws = u.windows;
    const unnumbered = ws.slice(0, 3).map((w) => create(SemantizedWindowSchema, { ...w, seq: 0 }));
    await expect(service.api.applyWindows(t, { windows: unnumbered })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      field: 'windows[1].seq',
      message: expect.stringMatching(/windows\[1\] \(seq 0, final\) does not come after windows\[0\] \(seq 0, final\)/),
    });
    const e = syntheticEarlyWindow(ws[3] as SemantizedWindow, 1, 0.5);
    await expect(service.api.applyWindows(t, { windows: [ws[3] as SemantizedWindow, e] })).rejects.toMatchObject({
      field: 'windows[1].seq',
    });
    // In order (a repeat allowed): applied; earlier seqs in a later request: duplicates.
    const r = await service.api.applyWindows(t, { windows: [ws[0], ws[1], ws[0], e, ws[3]] as SemantizedWindow[] });
    expect([r.applied, r.duplicates, r.personas[0]?.version, r.personas[0]?.early]).toEqual([4, 1, 4, false]);
    const late = await service.api.applyWindows(t, { windows: [ws[2], ws[4]] as SemantizedWindow[] });
    expect([late.applied, late.duplicates, late.personas[0]?.version]).toEqual([1, 1, 5]);
    await service.stop();
  });

  it('replays a batch whose produce failed after the store write without applying anything twice', async () => {
    const { broker, store } = setup();
    const realProducer = broker.producer.bind(broker);
    let fail = true;
    broker.producer = () => {
      const p = realProducer();
      return {
        send: async (topic, records) => {
          if (topic === topics.updates && fail) throw new Error('crash before the produce was acknowledged');
          return p.send(topic, records);
        },
        close: p.close,
      };
    };
    const svc = createPersonaService(
      { topics, groupId: 'g3', consume: false },
      { stream: broker, store, backend, logger: silentLogger(), registry: createRegistry('y', false) },
    );
    await svc.start();
    const u = users[2] as (typeof users)[number];
    const batch: InBatch = {
      topic: topics.windows,
      partition: 1,
      records: u.windows.slice(0, 4).map((w, i) => ({
        topic: topics.windows,
        partition: 1,
        offset: String(i),
        key: userKey(w.tenant, w.userId),
        value: windowRecord(w).value,
        headers: {},
        timestamp: 0,
      })),
    };
    await expect(svc.handleBatch(batch)).rejects.toThrow(/crash/);
    expect((await store.get('t', u.userId))?.version).toBe(4); // written, not published, offsets not committed
    fail = false;
    await svc.handleBatch(batch); // redelivered
    await svc.handleBatch(batch); // and again, after its updates were published
    const updates = decodeAll(broker).flatMap((o) => (o.rec.kind.case === 'update' ? [o.rec.kind.value] : []));
    expect(updates.map((x) => x.persona?.version)).toEqual([1, 2, 3, 4]);
    expect((await store.get('t', u.userId))?.version).toBe(4);
    await svc.stop();
  });

  it('serves the API with tenant checks, limits and field-naming errors', async () => {
    const { service } = setup({ consume: false });
    await service.start();
    const t = { tenant: 't' };
    const u = users[2];
    if (!u) throw new Error('no user');
    const r = await service.api.applyWindows(t, { windows: u.windows.slice(0, 4) });
    expect(r.applied).toBe(4);
    expect(r.duplicates).toBe(0);
    expect(r.personas[0]?.version).toBe(4);
    const again = await service.api.applyWindows(t, { windows: u.windows.slice(0, 4) });
    expect(again.applied).toBe(0);
    expect(again.duplicates).toBe(4);
    expect(again.personas[0]?.version).toBe(4);

    const code = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'ok';
      } catch (e) {
        return `${(e as PersonaStreamError).code}:${(e as Error).message}`;
      }
    };
    expect(await code(service.api.getPersona(t, { userId: '' }))).toBe(
      `${ErrorCode.InvalidArgument}:user_id is required`,
    );
    expect(await code(service.api.getPersona(t, { userId: 'nobody' }))).toMatch(ErrorCode.NotFound);
    expect(await code(service.api.getPersona({ tenant: 'other' }, { tenant: 't', userId: u.userId }))).toMatch(
      ErrorCode.PermissionDenied,
    );
    const many = Array.from({ length: 1001 }, (_, i) => `u${i}`);
    expect(await code(service.api.batchGetPersonas(t, { userIds: many }))).toMatch(ErrorCode.ResourceExhausted);
    const batch = await service.api.batchGetPersonas(t, { userIds: [u.userId, 'ghost'] });
    expect(batch.personas.map((p) => p.userId)).toEqual([u.userId]);
    expect(batch.missingUserIds).toEqual(['ghost']);
    expect(await code(service.api.applyWindows({ tenant: 'other' }, { windows: u.windows.slice(4, 5) }))).toMatch(
      ErrorCode.PermissionDenied,
    );
    const noId = create(SemantizedWindowSchema, { ...u.windows[4]!, windowId: '' });
    expect(await code(service.api.applyWindows(t, { windows: [noId] }))).toBe(
      `${ErrorCode.InvalidArgument}:windows[0].window_id is required`,
    );
    const dims = await service.api.listDimensions(t, {});
    expect(dims.dimensions.map((d) => d.name)).toContain('gender');
    const priv = await service.api.listDimensions({ tenant: 'private' }, {});
    expect(priv.dimensions.map((d) => d.name)).not.toContain('gender');
    await service.stop();
  });

  it('never predicts sensitive dimensions for tenants that switched them off', async () => {
    const { service } = setup({ consume: false });
    await service.start();
    const [u] = syntheticUsers({ users: 1, seed: 5, tenant: 'private', windowsPerUser: 6 });
    if (!u) throw new Error('no user');
    const r = await service.api.applyWindows({ tenant: 'private' }, { windows: u.windows });
    expect(r.personas[0]?.tags.some((tag) => tag.dimension === 'gender')).toBe(false);
    expect(r.personas[0]?.tags.some((tag) => tag.dimension === 'interests')).toBe(true);
    await service.stop();
  });

  it('erases on delete, ignores later windows until consent, and streams changes to watchers', async () => {
    const { service, broker, store } = setup({ consume: false });
    await service.start();
    const t = { tenant: 't' };
    const u = users[3];
    if (!u) throw new Error('no user');
    await service.api.applyWindows(t, { windows: u.windows.slice(0, 2) });

    const abort = new AbortController();
    const seen: Array<{ version: number; tombstone: boolean }> = [];
    const watching = (async () => {
      for await (const m of service.api.watchPersona(t, { userId: u.userId, fromVersion: 1 }, abort.signal)) {
        seen.push({ version: m.persona?.version ?? -1, tombstone: m.tombstone });
        if (seen.length === 5) abort.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 10));
    await service.api.applyWindows(t, { windows: u.windows.slice(2, 3) });
    const del = await service.api.deletePersona(t, { userId: u.userId });
    expect(del.existed).toBe(true);
    expect(await store.get('t', u.userId)).toBeUndefined();
    const tomb = decodeAll(broker).filter((o) => o.rec.kind.case === 'update' && o.rec.kind.value.tombstone);
    expect(tomb).toHaveLength(1);
    // Erased: ignored.
    const ignored = await service.api.applyWindows(t, { windows: u.windows.slice(3, 4) });
    expect(ignored.applied).toBe(0);
    expect(ignored.personas).toHaveLength(0);
    // A window carrying consent but starting before the erasure (a replay of the old history): ignored.
    const consent = create(SemantizedWindowSchema, {
      ...u.windows[4]!,
      notable: [create(NotableEventSchema, { kind: 'consent', detail: 'consent granted' })],
    });
    expect((await service.api.applyWindows(t, { windows: [consent] })).applied).toBe(0);
    // A window carrying consent after the erasure starts a fresh persona.
    const later = (w: SemantizedWindow, k: number) =>
      create(SemantizedWindowSchema, { ...w, startMs: Date.now() + k * 60_000, endMs: Date.now() + k * 60_000 + 1 });
    const back = await service.api.applyWindows(t, {
      windows: [later(consent, 1), ...u.windows.slice(5, 6).map((w) => later(w, 2))],
    });
    expect(back.applied).toBe(2);
    expect(back.personas[0]?.version).toBe(2);
    await watching;
    expect(seen).toEqual([
      { version: 2, tombstone: false },
      { version: 3, tombstone: false },
      { version: 4, tombstone: true },
      { version: 1, tombstone: false },
      { version: 2, tombstone: false },
    ]);
    // Explicit restore also lifts an erasure.
    await service.api.deletePersona(t, { userId: u.userId });
    const next = u.windows.slice(6, 7).map((w) => later(w, 3));
    expect((await service.api.applyWindows(t, { windows: next })).applied).toBe(0);
    expect((await service.api.restorePersona(t, { userId: u.userId })).restored).toBe(true);
    expect((await service.api.applyWindows(t, { windows: next })).applied).toBe(1);
    // the erasure time stays after a restore: the old history is still never applied
    expect((await service.api.applyWindows(t, { windows: u.windows.slice(7, 8) })).applied).toBe(0);
    await service.stop();
  });

  it('lifts an erasure when a consent event arrives from the events topic (through the semantizer)', async () => {
    const { broker, service } = setup();
    await service.start();
    const t = { tenant: 't' };
    const userId = 'consenting-user';
    const event = (
      id: string,
      type: EventType,
      timeMs: number,
      extra: Pick<MessageInitShape<typeof BehaviorEventSchema>, 'item' | 'dwellMs' | 'properties'> = {},
    ) =>
      create(BehaviorEventSchema, {
        eventId: id,
        tenant: 't',
        userId,
        runId: 'consent-run',
        eventTimeMs: timeMs,
        type,
        context: { device: 'mobile', sessionId: 's1' },
        ...extra,
      });
    const view = (id: string, timeMs: number) =>
      event(id, EventType.ITEM_VIEW, timeMs, {
        item: { id: `i-${id}`, categoryPath: ['Books', 'Fiction', 'Novels'], price: 12 },
        dwellMs: 20_000,
      });
    const day = 86_400_000;
    // Three sessions a day apart: plain (before the erasure, which happens now), then (after the
    // erasure) one that only views, then one with consent.
    const t0 = Date.now() - day / 2;
    const events = [
      view('a1', t0),
      view('a2', t0 + 60_000),
      view('b1', t0 + day),
      event('c0', EventType.CONSENT, t0 + 2 * day, { properties: { analytics: 'granted' } }),
      view('c1', t0 + 2 * day + 5_000),
    ];
    const [first, noConsent, withConsent] = semantizeEvents(events, { tokenizer: 'none' }).windows;
    expect(withConsent?.signals.consent).toBe(1);
    expect(noConsent?.signals.consent).toBeUndefined();
    const sendAndDrain = async (w: SemantizedWindow) => {
      await broker.producer().send(topics.windows, [windowRecord(w)]);
      await broker.drained();
    };
    await sendAndDrain(first as SemantizedWindow);
    expect((await service.api.getPersona(t, { userId })).persona?.version).toBe(1);
    await service.api.deletePersona(t, { userId });
    await sendAndDrain(noConsent as SemantizedWindow);
    await expect(service.api.getPersona(t, { userId })).rejects.toMatchObject({ code: ErrorCode.NotFound });
    await sendAndDrain(withConsent as SemantizedWindow);
    expect((await service.api.getPersona(t, { userId })).persona?.version).toBe(1);
    await service.stop();
  });

  it('limits concurrent watches', async () => {
    const { service } = setup({ consume: false, maxWatches: 1 });
    await service.start();
    const a = new AbortController();
    const it1 = service.api.watchPersona({ tenant: 't' }, { userId: 'x' }, a.signal)[Symbol.asyncIterator]();
    void it1.next();
    expect(() => service.api.watchPersona({ tenant: 't' }, { userId: 'y' })).toThrow(/too many concurrent watches/);
    a.abort();
    await service.stop();
  });
});
