import { create, toBinary } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  EventContextSchema,
  EventType,
  ItemSchema,
  LIVE_RUN_ID,
  SemantizedWindowSchema,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../adapters/checkpoints.js';
import { type ClosedWindow, emptyStats, LIVE_PRICE_DAYS, PartitionEngine } from './engine.js';
import { defaultCoreConfig } from './types.js';

const SEC = 1000;
const MIN = 60 * SEC;
/** Wall clock of the test: events happen now (a live stream), entry times and ticks around it. */
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const GAP = 2 * MIN;
const LATENESS = 1 * MIN;
const TICK = 500;
const cfg = {
  ...defaultCoreConfig,
  tokenizer: 'none' as const,
  gapMs: GAP,
  latenessMs: LATENESS,
  earlyEveryMs: 60 * SEC,
};

function ev(i: number, atMs: number, init: Partial<Record<string, unknown>> = {}): BehaviorEvent {
  return create(BehaviorEventSchema, {
    eventId: `e${i}`,
    tenant: 'acme',
    userId: 'u1',
    eventTimeMs: atMs,
    type: i % 4 === 3 ? EventType.ADD_TO_CART : EventType.ITEM_VIEW,
    item: create(ItemSchema, {
      id: `i${i % 5}`,
      categoryPath: ['Electronics', 'Audio', 'Headphones'],
      brand: 'Sony',
      price: 249,
    }),
    context: create(EventContextSchema, { device: 'desktop' }),
    dwellMs: 30_000,
    runId: LIVE_RUN_ID,
    ...init,
  });
}

/** A 10-minute session of `n` events of one user, starting at `start`. */
function session(n: number, start: number, user = 'u1', idFrom = 0): BehaviorEvent[] {
  return Array.from({ length: n }, (_, k) => ev(idFrom + k, start + k * MIN, { userId: user }));
}

function engine(over: Partial<typeof cfg> = {}) {
  const stats = emptyStats();
  return { e: new PartitionEngine({ ...cfg, ...over }, stats, undefined), stats };
}

const bytes = (c: ClosedWindow) => Buffer.from(toBinary(SemantizedWindowSchema, c.window)).toString('base64');

describe('live run: windows close on processing time', () => {
  it('closes a quiet user’s window once the tick clock is gap + lateness past their last record, not before', () => {
    const { e, stats } = engine();
    const out: ClosedWindow[] = [];
    e.tick(NOW, out);
    for (const x of session(5, NOW - 30 * MIN)) e.ingest(x, out, NOW + 10);
    expect(out).toHaveLength(0);
    expect(e.wantsTicks()).toBe(true);
    e.tick(NOW + GAP + LATENESS - SEC, out);
    expect(out.filter((c) => !c.window.provisional)).toHaveLength(0);
    e.tick(NOW + GAP + LATENESS + SEC, out);
    const finals = out.filter((c) => !c.window.provisional);
    expect(finals).toHaveLength(1);
    expect(finals[0]?.window.eventCount).toBe(5);
    expect(finals[0]?.window.seq).toBe(0);
    expect(stats.idleClosed).toBe(1);
    // the user left memory: nothing more to tick for
    expect(e.userCount()).toBe(0);
    expect(e.wantsTicks()).toBe(false);
  });

  it('never closes a finite run on processing time: its windows stay a function of its events', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    for (const x of session(5, NOW - 30 * MIN)) e.ingest(create(BehaviorEventSchema, { ...x, runId: 'bench-1' }), out);
    e.tick(NOW + 24 * 60 * MIN, out);
    expect(out).toHaveLength(0);
    expect(e.wantsTicks()).toBe(false);
    expect(e.endOfRun('acme', 'bench-1').windows).toHaveLength(1);
  });

  it('gives the same final window whether or not processing time closed it, and the live run never ends on a marker', () => {
    const events = session(6, NOW - 20 * MIN);
    const byTime = engine().e;
    const a: ClosedWindow[] = [];
    for (const x of events) byTime.ingest(x, a, NOW);
    byTime.tick(NOW + 10 * MIN, a);
    const asFinite = engine().e;
    const b: ClosedWindow[] = [];
    for (const x of events) asFinite.ingest(create(BehaviorEventSchema, { ...x, runId: 'r' }), b, NOW);
    b.push(...asFinite.endOfRun('acme', 'r').windows);
    const fa = a.filter((c) => !c.window.provisional);
    // the run id is part of the ids and of the raw events' bytes; everything else is the same
    const plain = (c: ClosedWindow) => ({ ...c.window, runId: 'r', windowId: '', compression: undefined });
    expect(fa.map(plain)).toEqual(b.map(plain));
    expect(byTime.endOfRun('acme', LIVE_RUN_ID)).toEqual({ windows: [], records: 0 });
  });
});

describe('live run: early windows', () => {
  it('previews a session in progress at most every earlyEveryMs, then the final window is what it would have been', () => {
    const events = session(8, NOW);
    const { e, stats } = engine();
    const out: ClosedWindow[] = [];
    e.tick(NOW, out);
    // events arrive one a minute (processing time = event time here); a tick every 20 s
    let t = NOW;
    for (const x of events) {
      e.ingest(x, out, t + 5);
      for (let k = 0; k < 3; k++) {
        t += 20 * SEC;
        e.tick(t, out);
      }
    }
    e.tick(t + GAP + LATENESS + SEC, out);
    const early = out.filter((c) => c.window.provisional);
    const finals = out.filter((c) => !c.window.provisional);
    expect(finals).toHaveLength(1);
    expect(early.length).toBeGreaterThanOrEqual(7);
    expect(stats.early).toBe(early.length);
    // numbered 1, 2, … for the final window's seq, with ids of their own
    expect(early.map((c) => c.window.revision)).toEqual(early.map((_, i) => i + 1));
    for (const c of early) expect(c.window.seq).toBe(0);
    expect(new Set([...early, ...finals].map((c) => c.window.windowId)).size).toBe(early.length + 1);
    // each early window shows everything so far; the last one all 8 events
    expect(early.map((c) => c.window.eventCount)).toEqual(
      [...early.map((c) => c.window.eventCount)].sort((x, y) => x - y),
    );
    expect(early[early.length - 1]?.window.eventCount).toBe(8);
    // at most one per 60 s of processing time
    // the final window equals the one from the same events sent as one finished session
    const one = engine().e;
    const ref: ClosedWindow[] = [];
    for (const x of events) one.ingest(x, ref, NOW + 5);
    one.tick(NOW + 60 * MIN, ref);
    const refFinal = ref.filter((c) => !c.window.provisional);
    expect(refFinal.map(bytes)).toEqual(finals.map(bytes));
  });

  it('writes at most one early window per earlyEveryMs and none without new events', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    e.tick(NOW, out);
    e.ingest(ev(1, NOW), out, NOW);
    e.tick(NOW + SEC, out);
    expect(out.map((c) => c.window.revision)).toEqual([1]);
    e.ingest(ev(2, NOW + 2 * SEC), out, NOW + 2 * SEC);
    e.tick(NOW + 30 * SEC, out); // new event, but < 60 s since the last early window
    expect(out).toHaveLength(1);
    e.tick(NOW + 62 * SEC, out);
    expect(out.map((c) => c.window.revision)).toEqual([1, 2]);
    e.tick(NOW + 130 * SEC, out); // nothing new
    expect(out).toHaveLength(2);
  });

  it('gives freshness by the events first shown: an early window the new ones, the final window none', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    e.tick(NOW, out);
    e.ingest(ev(1, NOW), out, NOW + 100);
    e.ingest(ev(2, NOW + SEC), out, NOW + 200);
    e.tick(NOW + 5 * SEC, out);
    e.ingest(ev(3, NOW + 70 * SEC), out, NOW + 70_300);
    e.tick(NOW + 75 * SEC, out);
    e.tick(NOW + 75 * SEC + GAP + LATENESS + SEC, out);
    expect(out.map((c) => [c.window.provisional, c.firstEntryMs, c.entryMs])).toEqual([
      [true, NOW + 100, NOW + 200],
      [true, NOW + 70_300, NOW + 70_300],
      [false, 0, NOW + 70_300],
    ]);
  });

  it('turns early windows off with earlyEveryMs = 0', () => {
    const { e } = engine({ earlyEveryMs: 0 });
    const out: ClosedWindow[] = [];
    e.tick(NOW, out);
    for (const x of session(3, NOW)) e.ingest(x, out, NOW);
    e.tick(NOW + 5 * MIN, out);
    expect(out.every((c) => !c.window.provisional)).toBe(true);
  });
});

describe('live run: bounded state', () => {
  it('keeps only active users in memory; a returning user continues from the idle store (seq, watermark, ids)', async () => {
    const store = new MemoryCheckpointStore();
    const scope = { group: 'g', topic: 'events', partition: 0 };
    const { e, stats } = engine();
    const out: ClosedWindow[] = [];
    e.tick(NOW, out);
    for (let u = 0; u < 50; u++) for (const x of session(3, NOW, `u${u}`, u * 10)) e.ingest(x, out, NOW);
    expect(e.userCount()).toBe(50);
    e.tick(NOW + GAP + LATENESS + MIN, out);
    expect(e.userCount()).toBe(0);
    expect(stats.evicted).toBe(50);
    const delta = e.takeDelta();
    expect(delta.idleSet.length).toBe(100);
    expect(delta.del).toHaveLength(50);
    await store.save(scope, { offset: '1', ...delta });
    // the checkpoint holds no user: a restart reads no idle user
    const cp = await store.load(scope);
    expect(Object.keys(cp?.fields ?? {}).filter((f) => f.startsWith('U'))).toHaveLength(0);

    // u7 comes back after a restart: its compact facts come from the idle store
    const back = engine().e;
    back.restore({ meta: cp?.meta ?? '', fields: cp?.fields ?? {} });
    const later = NOW + 30 * MIN;
    const field = back.idleField('acme', 'u7', LIVE_RUN_ID);
    expect(field).toBeDefined();
    const [json] = await store.loadIdle(scope, [field as string]);
    back.revive(field as string, json as string);
    const o2: ClosedWindow[] = [];
    back.tick(later, o2);
    // a re-sent old event (same id) is a duplicate, a new one opens window seq 1
    back.ingest(ev(70, NOW, { userId: 'u7' }), o2, later);
    back.ingest(ev(99, later, { userId: 'u7' }), o2, later);
    back.tick(later + GAP + LATENESS + SEC, o2);
    const finals = o2.filter((c) => !c.window.provisional);
    expect(finals.map((c) => c.window.seq)).toEqual([1]);
    expect(finals[0]?.window.eventCount).toBe(1);
    expect(finals[0]?.window.dropped).toEqual({ duplicate_event_id: 1 });
    // a user that was never seen has nothing in the idle store
    expect(await store.loadIdle(scope, [back.idleField('acme', 'nobody', LIVE_RUN_ID) as string])).toEqual([undefined]);
  });

  it('a user evicted and back within one batch resumes from memory', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    e.tick(NOW, out);
    e.ingest(ev(1, NOW), out, NOW);
    e.tick(NOW + GAP + LATENESS + SEC, out);
    expect(e.userCount()).toBe(0);
    e.ingest(ev(2, NOW + 10 * MIN), out, NOW + 10 * MIN);
    e.tick(NOW + 10 * MIN + GAP + LATENESS + SEC, out);
    expect(out.filter((c) => !c.window.provisional).map((c) => c.window.seq)).toEqual([0, 1]);
    const d = e.takeDelta();
    // evicted twice: the idle record is the latest one, and no user field is left behind
    expect(d.idleSet).toHaveLength(2);
    expect(JSON.parse(d.idleSet[1] as string).seq).toBe(2);
  });

  it('restores a live session in progress exactly (clock, arrival order, early revision)', async () => {
    const store = new MemoryCheckpointStore();
    const scope = { group: 'g', topic: 'events', partition: 0 };
    const events = [...session(4, NOW, 'a', 0), ...session(4, NOW + 30 * SEC, 'b', 100)];
    const drive = (e: PartitionEngine, out: ClosedWindow[], from: number, to: number) => {
      for (let i = from; i < to; i++) {
        e.ingest(events[i] as BehaviorEvent, out, NOW + i * SEC);
        e.tick(NOW + i * 30 * SEC, out);
      }
    };
    const ref = engine().e;
    const a: ClosedWindow[] = [];
    drive(ref, a, 0, events.length);
    ref.tick(NOW + 60 * MIN, a);

    const first = engine().e;
    const b: ClosedWindow[] = [];
    drive(first, b, 0, 5);
    await store.save(scope, { offset: '5', ...first.takeDelta() });
    const cp = await store.load(scope);
    const second = engine().e;
    second.restore({ meta: cp?.meta ?? '', fields: cp?.fields ?? {} });
    drive(second, b, 5, events.length);
    second.tick(NOW + 60 * MIN, b);
    expect(b.map(bytes)).toEqual(a.map(bytes));
    expect(b.map((c) => c.firstEntryMs)).toEqual(a.map((c) => c.firstEntryMs));
  });
});

describe('runs belong to tenants', () => {
  it('ends only the marker tenant’s run of that id', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    for (const tenant of ['acme', 'globex']) {
      for (const x of session(3, NOW - 60 * MIN))
        e.ingest(create(BehaviorEventSchema, { ...x, tenant, runId: 'r' }), out);
    }
    const ended = e.endOfRun('globex', 'r');
    expect(ended.windows.map((c) => c.window.tenant)).toEqual(['globex']);
    expect(e.openRuns()).toEqual([{ tenant: 'acme', runId: 'r' }]);
    expect(e.hasEnded('acme', 'r')).toBe(false);
    // acme's run goes on: its next event is accepted, globex's is after the end
    const more = create(BehaviorEventSchema, { ...ev(9, NOW - 57 * MIN), runId: 'r' });
    expect(e.ingest(more, out)).toBe('ok');
    expect(e.ingest(create(BehaviorEventSchema, { ...more, tenant: 'globex' }), out)).toBe('after_end_of_run');
    expect(e.endOfRun('acme', 'r').windows.map((c) => c.window.eventCount)).toEqual([4]);
  });
});

describe('live run: arrival time', () => {
  it('stamps a record with its own timestamp when the partition clock is older (no ticks while it had no live users)', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    e.tick(NOW, out); // the last tick, long ago
    const later = NOW + 60 * MIN;
    e.ingest(ev(1, later), out, later);
    // the next tick comes soon after the record: the user is not idle
    e.tick(later + TICK, out);
    expect(out.map((c) => c.window.provisional)).toEqual([true]);
    e.tick(later + GAP + LATENESS + SEC, out);
    expect(out.map((c) => c.window.provisional)).toEqual([true, false]);
  });
});

describe('live run: price book', () => {
  it('keeps LIVE_PRICE_DAYS of price days apart, folds older ones, and deletes them from the checkpoint', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    const DAY = 24 * 60 * MIN;
    for (let d = 0; d < 200; d++) {
      const at = NOW - (200 - d) * DAY;
      e.ingest(ev(d, at, { userId: `u${d}` }), out, at);
    }
    e.tick(NOW, out);
    const snap = e.snapshot();
    const priceDays = new Set(
      Object.keys(snap.fields)
        .filter((f) => f.startsWith('P\u0000'))
        .map((f) => Number(f.slice(f.lastIndexOf('\u0000') + 1))),
    );
    // one fold plus the last LIVE_PRICE_DAYS days at most
    expect(priceDays.size).toBeLessThanOrEqual(LIVE_PRICE_DAYS + 1);
    const delta = e.takeDelta();
    expect(delta.del.filter((f) => f.startsWith('P\u0000')).length).toBeGreaterThan(0);
  });
});
