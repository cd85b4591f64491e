import { clone, create, toBinary } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  canonicalEventJson,
  EventContextSchema,
  EventType,
  ItemSchema,
  SemantizedWindowSchema,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../adapters/checkpoints.js';
import { generateEvents, rng } from '../testing/generator.js';
import { type ClosedWindow, emptyStats, PartitionEngine } from './engine.js';
import { semantizeEvents } from './semantizer.js';
import { TokenCounter } from './tokens.js';
import { defaultCoreConfig } from './types.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 2, 19, 0, 0);

function ev(i: number, minutes: number, init: Partial<Record<string, unknown>> = {}): BehaviorEvent {
  return create(BehaviorEventSchema, {
    eventId: `e${i}`,
    tenant: 't',
    userId: 'u1',
    eventTimeMs: T0 + minutes * MIN,
    type: EventType.ITEM_VIEW,
    item: create(ItemSchema, {
      id: `i${i % 5}`,
      categoryPath: ['Sports', 'Running', 'Shoes'],
      brand: 'Stridex',
      price: 80,
    }),
    context: create(EventContextSchema, { device: 'mobile' }),
    dwellMs: 20_000,
    runId: 'r1',
    ...init,
  });
}

const cfg = { ...defaultCoreConfig, tokenizer: 'none' as const };

function engine() {
  const stats = emptyStats();
  return { e: new PartitionEngine(cfg, stats, undefined), stats };
}

function run(events: BehaviorEvent[]): ClosedWindow[] {
  const { e } = engine();
  const out: ClosedWindow[] = [];
  for (const x of events) e.ingest(x, out);
  for (const r of e.openRuns()) out.push(...e.endOfRun(r.tenant, r.runId).windows);
  return out;
}

/** Windows as comparable bytes, keyed by id. */
function byId(ws: { window: Parameters<typeof toBinary<typeof SemantizedWindowSchema>>[1] }[] | ClosedWindow[]) {
  const m = new Map<string, string>();
  for (const c of ws) {
    const id = c.window.windowId;
    expect(m.has(id), `duplicate window id ${id}`).toBe(false);
    m.set(id, Buffer.from(toBinary(SemantizedWindowSchema, c.window)).toString('base64'));
  }
  return m;
}

describe('windowing', () => {
  it('splits sessions on the inactivity gap and closes them when the user watermark passes end + gap', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    for (const [i, m] of [0, 5, 20, 49].entries()) e.ingest(ev(i, m), out);
    expect(out).toHaveLength(0);
    // 80 min: gap 31 min after 49 → new session; watermark 70 < 49 + 30 + lookahead → not yet final
    e.ingest(ev(10, 80), out);
    expect(out).toHaveLength(0);
    e.ingest(ev(11, 90.2), out); // watermark 80.2 > 79 + 5 s
    expect(out).toHaveLength(1);
    const w = out[0]?.window;
    expect(w?.eventCount).toBe(4);
    expect(w?.startMs).toBe(T0);
    expect(w?.endMs).toBe(T0 + 49 * MIN);
    expect(w?.seq).toBe(0);
    const rest = e.endOfRun('t', 'r1');
    expect(rest.windows.map((c) => c.window.eventCount)).toEqual([2]);
    expect(rest.windows[0]?.window.seq).toBe(1);
    expect(rest.records).toBe(2);
  });

  it('caps a window at the maximum length even without a gap', () => {
    const events = Array.from({ length: 60 }, (_, i) => ev(i, i * 25)); // one event every 25 min for 25 h
    const ws = run(events);
    expect(ws.length).toBe(2);
    for (const c of ws) expect(c.window.endMs - c.window.startMs).toBeLessThanOrEqual(24 * 3_600_000);
    expect(ws.reduce((n, c) => n + c.window.eventCount, 0)).toBe(60);
  });

  it(
    'gives the same windows for input shuffled within the allowed lateness (seeded shuffles)',
    { timeout: 30_000 },
    () => {
      const base = generateEvents({ users: 12, days: 6, seed: 21, lateShare: 0, maxDisorderMs: 0 });
      const ordered = [...base].sort((a, b) => a.eventTimeMs - b.eventTimeMs);
      const reference = byId(semantizeEvents(ordered, { tokenizer: 'none' }).windows.map((window) => ({ window })));
      expect(reference.size).toBeGreaterThan(50);
      for (const seed of [1, 2, 3]) {
        const r = rng(seed);
        const shuffled = ordered
          .map((e) => ({ e, at: e.eventTimeMs + r() * 0.95 * defaultCoreConfig.latenessMs }))
          .sort((a, b) => a.at - b.at)
          .map((x) => x.e);
        const got = semantizeEvents(shuffled, { tokenizer: 'none' });
        expect(got.stats.late).toBe(0);
        expect(byId(got.windows.map((window) => ({ window })))).toEqual(reference);
      }
    },
  );

  it('counts events beyond the lateness as late and folds them into the next window, losing none', () => {
    const events = [ev(1, 0), ev(2, 5), ev(3, 60), ev(4, 3), ev(5, 64), ev(6, 200)];
    const { e, stats } = engine();
    const out: ClosedWindow[] = [];
    for (const x of events) e.ingest(x, out);
    out.push(...e.endOfRun('t', 'r1').windows);
    expect(stats.late).toBe(1); // e4 (3 min) arrives when the user's watermark is at 50 min
    expect(out.map((c) => c.window.eventCount)).toEqual([2, 3, 1]);
    // the late event went into the second window (the next one to close after it arrived)
    expect(out[1]?.window.startMs).toBe(T0 + 60 * MIN);
  });

  it('turns late events without a following window into one last window at the end of the run', () => {
    const { e, stats } = engine();
    const out: ClosedWindow[] = [];
    for (const x of [ev(1, 0), ev(2, 100), ev(3, 10)]) e.ingest(x, out);
    expect(out).toHaveLength(1);
    out.push(...e.endOfRun('t', 'r1').windows);
    expect(stats.late).toBe(1);
    expect(out.map((c) => c.window.eventCount)).toEqual([1, 2]);
  });

  it('flushes a run on end-of-run, forgets it, and refuses its later events', () => {
    const { e, stats } = engine();
    const out: ClosedWindow[] = [];
    e.ingest(ev(1, 0), out);
    const other = ev(2, 0, { runId: 'r2' });
    e.ingest(other, out);
    const r1 = e.endOfRun('t', 'r1');
    expect(r1.windows).toHaveLength(1);
    expect(e.openRuns()).toEqual([{ tenant: 't', runId: 'r2' }]);
    expect(e.ingest(ev(3, 1), out)).toBe('after_end_of_run');
    expect(stats.afterEnd).toBe(1);
    expect(e.endOfRun('t', 'r1')).toEqual({ windows: [], records: 1 });
  });

  it('derives deterministic window ids from tenant, user, run and start', () => {
    const a = run([ev(1, 0), ev(2, 3)]);
    const b = run([ev(2, 3), ev(1, 0)]);
    expect(a[0]?.window.windowId).toMatch(/^[0-9a-f]{16}$/);
    expect(a[0]?.window.windowId).toBe(b[0]?.window.windowId);
    const c = run([ev(1, 0, { runId: 'r1', userId: 'u2' })]);
    expect(c[0]?.window.windowId).not.toBe(a[0]?.window.windowId);
  });
});

describe('compression accounting', () => {
  it('accounts every valid event byte: windows (kept + dropped) plus orphans', () => {
    const events = generateEvents({ users: 8, days: 5, seed: 5 });
    const { windows, stats } = semantizeEvents(events, { tokenizer: 'none' });
    const raw = events.reduce((n, e) => n + Buffer.byteLength(canonicalEventJson(e)) + 1, 0);
    const inWindows = windows.reduce((n, w) => n + (w.compression?.rawBytes ?? 0), 0);
    expect(inWindows + stats.orphanRawBytes).toBe(raw);
    const counted = windows.reduce(
      (n, w) => n + w.eventCount + Object.values(w.dropped).reduce((a, b) => a + b, 0),
      stats.orphanEvents,
    );
    expect(counted).toBe(events.length);
    for (const w of windows) expect(w.compression?.semantizedBytes).toBe(Buffer.byteLength(w.text));
  });

  it('counts raw tokens as the tokenizer does over the JSON lines', () => {
    const events = generateEvents({ users: 2, days: 2, seed: 8, noise: 0 });
    const { windows, stats } = semantizeEvents(events);
    const counter = new TokenCounter('cl100k_base');
    const expected = events.reduce((n, e) => n + counter.text(`${canonicalEventJson(e)}\n`), 0);
    expect(windows.reduce((n, w) => n + (w.compression?.rawTokens ?? 0), 0) + 0).toBe(expected);
    expect(stats.tokenizer).toBe('cl100k_base');
    for (const w of windows) expect(w.compression?.semantizedTokens).toBe(counter.text(w.text));
  });

  it('compresses generated sessions by at least 97.9 % (bytes)', { timeout: 30_000 }, () => {
    const { stats } = semantizeEvents(generateEvents({ users: 15, days: 10, seed: 2 }), { tokenizer: 'none' });
    expect(stats.compressionBytes).toBeGreaterThanOrEqual(0.979);
  });
});

describe('checkpoints', () => {
  it(
    'a restored engine continues exactly like an uninterrupted one (full snapshots and deltas)',
    { timeout: 30_000 },
    async () => {
      const events = generateEvents({ users: 10, days: 4, seed: 9 });
      const reference = byId(run(events));
      for (const cuts of [[37], [500, 1200, 2000], [1, 2, 3, 900]]) {
        const store = new MemoryCheckpointStore();
        const scope = { group: 'g', topic: 't', partition: 0 };
        let { e } = engine();
        const out: ClosedWindow[] = [];
        for (let i = 0; i < events.length; i++) {
          e.ingest(events[i] as BehaviorEvent, out);
          await store.save(scope, { offset: String(i), ...e.takeDelta() });
          if (cuts.includes(i)) {
            // Alternate full snapshots and store-accumulated deltas.
            const fresh = engine().e;
            if (i % 2 === 0) fresh.restore(e.snapshot());
            else {
              const cp = await store.load(scope);
              if (!cp) throw new Error('no checkpoint');
              fresh.restore({ meta: cp.meta, fields: cp.fields });
            }
            e = fresh;
          }
        }
        for (const r of e.openRuns()) out.push(...e.endOfRun(r.tenant, r.runId).windows);
        expect(byId(out)).toEqual(reference);
      }
    },
  );

  it('restores a checkpoint of the previous format (runs by run id) and hands the whole state to the next delta', () => {
    const events = generateEvents({ users: 6, days: 3, seed: 12 });
    const reference = byId(run(events));
    const { e } = engine();
    const out: ClosedWindow[] = [];
    const cut = Math.floor(events.length / 2);
    for (let i = 0; i < cut; i++) e.ingest(events[i] as BehaviorEvent, out);
    const snap = e.snapshot();
    // v1: meta without clock, price fields `P\0run\0…` (no tenant)
    const meta = JSON.parse(snap.meta) as { v: number; clock?: unknown };
    meta.v = 1;
    delete meta.clock;
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(snap.fields)) {
      fields[k.startsWith('P\u0000') ? `P\u0000${k.split('\u0000').slice(2).join('\u0000')}` : k] = v;
    }
    expect(Object.keys(fields).some((k) => k.startsWith('P\u0000'))).toBe(true);
    const legacy = engine().e;
    legacy.restore({ meta: JSON.stringify(meta), fields });
    const delta = legacy.takeDelta();
    // written anew in the current format: every user and every price bucket
    const written = new Map<string, string>();
    for (let i = 0; i < delta.set.length; i += 2) written.set(delta.set[i] as string, delta.set[i + 1] as string);
    expect(new Set(written.keys())).toEqual(new Set(Object.keys(snap.fields)));
    for (let i = cut; i < events.length; i++) legacy.ingest(events[i] as BehaviorEvent, out);
    for (const r of legacy.openRuns()) out.push(...legacy.endOfRun(r.tenant, r.runId).windows);
    expect(byId(out)).toEqual(reference);
  });

  it('re-delivered (duplicate) events change nothing', () => {
    const events = generateEvents({ users: 4, days: 2, seed: 4, noise: 0 });
    const dup = events.flatMap((e, i) => (i % 3 === 0 ? [e, clone(BehaviorEventSchema, e)] : [e]));
    const a = run(events);
    const b = run(dup);
    expect(b.map((c) => c.window.windowId)).toEqual(a.map((c) => c.window.windowId));
    expect(b.map((c) => c.window.eventCount)).toEqual(a.map((c) => c.window.eventCount));
    expect(b.reduce((n, c) => n + (c.window.dropped.duplicate_event_id ?? 0), 0)).toBe(dup.length - events.length);
  });
});

describe('entry time (the wall clock at which events entered the pipeline, beside the window)', () => {
  /** Events with their own receipt time, so the window bytes never depend on the record timestamps. */
  const evr = (i: number, minutes: number, init: Partial<Record<string, unknown>> = {}) =>
    ev(i, minutes, { receivedTimeMs: T0 + minutes * MIN + 1_000, ...init });
  const W = 1_780_000_000_000; // a wall clock

  it('is the max record timestamp of the events in the window, and never changes the window bytes', () => {
    const events = [evr(1, 0), evr(2, 5), evr(3, 20), evr(4, 80), evr(5, 90.2), evr(6, 200)];
    // Entry times not in event order: the window's max, not its last event's.
    const entries = [W + 50, W + 900, W + 10, W + 1000, W + 1001, W + 2000];
    const { e } = engine();
    const out: ClosedWindow[] = [];
    for (const [i, x] of events.entries()) e.ingest(x, out, entries[i]);
    out.push(...e.endOfRun('t', 'r1').windows);
    expect(out.map((c) => c.window.eventCount)).toEqual([3, 2, 1]);
    expect(out.map((c) => c.entryMs)).toEqual([W + 900, W + 1001, W + 2000]);
    // Unknown timestamps → unknown entry time; the same windows byte for byte.
    const plain = run(events);
    expect(plain.map((c) => c.entryMs)).toEqual([0, 0, 0]);
    expect(byId(out)).toEqual(byId(plain));
  });

  it('never becomes window bytes for events without their own receipt time (imports): ingest_time_ms stays 0', () => {
    // Dataset replays carry no received_time_ms; the record timestamps differ run to run.
    const events = [ev(1, 0), ev(2, 5), ev(3, 80)];
    const ingestAt = (base: number) => {
      const { e } = engine();
      const out: ClosedWindow[] = [];
      for (const [i, x] of events.entries()) e.ingest(x, out, base + i * 10);
      out.push(...e.endOfRun('t', 'r1').windows);
      return out;
    };
    const first = ingestAt(W);
    const replay = ingestAt(W + 3_600_000);
    expect(first.map((c) => c.window.ingestTimeMs)).toEqual([0, 0]);
    expect(byId(replay)).toEqual(byId(first));
    expect(replay.map((c) => c.entryMs)).toEqual([W + 3_600_010, W + 3_600_020]);
    // With their own receipt times, the window carries the largest.
    const own = run([evr(1, 0), evr(2, 5)]);
    expect(own.map((c) => c.window.ingestTimeMs)).toEqual([T0 + 5 * MIN + 1_000]);
  });

  it('counts late events in the window they are folded into', () => {
    const { e } = engine();
    const out: ClosedWindow[] = [];
    const at = [W + 1, W + 2, W + 3, W + 500, W + 4, W + 6];
    for (const [i, x] of [evr(1, 0), evr(2, 5), evr(3, 60), evr(4, 3), evr(5, 64), evr(6, 200)].entries()) {
      e.ingest(x, out, at[i]);
    }
    out.push(...e.endOfRun('t', 'r1').windows);
    // e4 (3 min) is late and goes into the second window, with its entry time W + 500.
    expect(out.map((c) => c.window.eventCount)).toEqual([2, 3, 1]);
    expect(out.map((c) => c.entryMs)).toEqual([W + 2, W + 500, W + 6]);
    // a run-end window made only of late events
    const { e: f } = engine();
    const o2: ClosedWindow[] = [];
    for (const [i, x] of [evr(1, 0), evr(2, 100), evr(3, 10)].entries()) f.ingest(x, o2, W + 10 * (3 - i));
    o2.push(...f.endOfRun('t', 'r1').windows);
    expect(o2.map((c) => c.entryMs)).toEqual([W + 30, W + 20]);
  });

  it('survives checkpoint/restore; checkpoints without entry times load as unknown', () => {
    const events = [evr(1, 0), evr(2, 5), evr(3, 20), evr(4, 49), evr(5, 80), evr(6, 90.2)];
    const entry = (i: number) => (i === 1 ? W + 777 : W + i);
    const { e } = engine();
    const out: ClosedWindow[] = [];
    for (let i = 0; i < 3; i++) e.ingest(events[i] as BehaviorEvent, out, entry(i));
    const snap = e.snapshot();
    expect(out).toHaveLength(0);

    const finish = (restored: PartitionEngine) => {
      const o: ClosedWindow[] = [];
      for (let i = 3; i < events.length; i++) restored.ingest(events[i] as BehaviorEvent, o, entry(i));
      o.push(...restored.endOfRun('t', 'r1').windows);
      return o;
    };
    const fresh = engine().e;
    fresh.restore(snap);
    const restored = finish(fresh);
    expect(restored.map((c) => c.window.eventCount)).toEqual([4, 2]);
    // the first window's max entry time came from an event ingested before the checkpoint
    expect(restored.map((c) => c.entryMs)).toEqual([W + 777, W + 5]);

    // The format before entry times: packed events without the 20th element.
    const old: Record<string, string> = {};
    for (const [k, v] of Object.entries(snap.fields)) {
      if (!k.startsWith('U\u0000')) {
        old[k] = v;
        continue;
      }
      const u = JSON.parse(v) as { buf: unknown[][]; late: unknown[][] };
      u.buf = u.buf.map((p) => p.slice(0, 19));
      u.late = u.late.map((p) => p.slice(0, 19));
      old[k] = JSON.stringify(u);
    }
    expect(Object.values(old).some((v) => v.includes('"buf":[['))).toBe(true);
    const legacy = engine().e;
    legacy.restore({ meta: snap.meta, fields: old });
    const fromOld = finish(legacy);
    // same windows; restored events' entry times are unknown, so only the later event (W + 3) counts
    expect(byId(fromOld)).toEqual(byId(restored));
    expect(fromOld.map((c) => c.entryMs)).toEqual([W + 3, W + 5]);
  });
});
