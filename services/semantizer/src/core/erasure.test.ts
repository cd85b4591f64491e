import { create } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  EventContextSchema,
  EventType,
  ItemSchema,
  LIVE_RUN_ID,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../adapters/checkpoints.js';
import { type ClosedWindow, emptyStats, PartitionEngine } from './engine.js';
import { defaultCoreConfig } from './types.js';

const MIN = 60_000;
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const cfg = { ...defaultCoreConfig, tokenizer: 'none' as const, gapMs: 2 * MIN, latenessMs: MIN, earlyEveryMs: 0 };
const scope = { group: 'g', topic: 't', partition: 0 };

function ev(user: string, i: number, atMs: number, runId = LIVE_RUN_ID, type = EventType.ITEM_VIEW): BehaviorEvent {
  return create(BehaviorEventSchema, {
    eventId: `${user}-${runId}-${i}`,
    tenant: 'acme',
    userId: user,
    eventTimeMs: atMs,
    type,
    item: create(ItemSchema, { id: `i${i % 3}`, categoryPath: ['Electronics', 'Audio'], brand: 'Sony', price: 99 }),
    context: create(EventContextSchema, { device: 'desktop' }),
    dwellMs: 30_000,
    runId,
  });
}

function engine() {
  const stats = emptyStats();
  return { e: new PartitionEngine(cfg, stats, undefined), stats };
}

/** Everything the engine would write for a user: checkpoint fields and values, idle-store fields. */
function traces(e: PartitionEngine, store: MemoryCheckpointStore, user: string): string[] {
  const snap = e.snapshot();
  const idle = (store as unknown as { idle: Map<string, Map<string, string>> }).idle;
  const found: string[] = [];
  for (const [f, v] of Object.entries(snap.fields)) if (f.includes(user) || v.includes(user)) found.push(f);
  for (const m of idle.values())
    for (const [f, v] of m) if (f.includes(user) || v.includes(user)) found.push(`idle ${f}`);
  return found;
}

async function save(e: PartitionEngine, store: MemoryCheckpointStore, offset: number) {
  await store.save(scope, { offset: String(offset), ...e.takeDelta() });
}

describe('PartitionEngine.erase (suppress and delete)', () => {
  it('drops the user from memory, the checkpoint and the idle store, emitting no window; others stay', async () => {
    const { e, stats } = engine();
    const store = new MemoryCheckpointStore();
    const out: ClosedWindow[] = [];
    // gone: a closed live session (evicted to the idle store), then an open one; also a finite run
    for (let k = 0; k < 4; k++) e.ingest(ev('gone', k, NOW - 60 * MIN + k * 1_000), out);
    for (let k = 0; k < 4; k++) e.ingest(ev('keep', k, NOW - 60 * MIN + k * 1_000), out);
    e.tick(NOW, out); // both quiet for long: closed and evicted
    await save(e, store, 1);
    for (let k = 4; k < 6; k++) e.ingest(ev('gone', k, NOW + k * 1_000), out);
    e.ingest(ev('gone', 0, NOW - 5 * MIN, 'bench-1'), out);
    await save(e, store, 2);
    expect(traces(e, store, 'gone').length).toBeGreaterThan(0);
    const windowsBefore = out.length;

    e.erase('acme', 'gone', NOW + 10_000);
    await save(e, store, 3);
    expect(out.length).toBe(windowsBefore);
    expect(traces(e, store, 'gone')).toEqual([]);
    expect(traces(e, store, 'keep').length).toBeGreaterThan(0);
    expect(stats.erasures).toBe(1);
    // the erasure survives a restore (kept by digest, not by id)
    const restored = engine();
    const cp = await store.load(scope);
    restored.e.restore({ meta: cp?.meta ?? '', fields: cp?.fields ?? {} });
    expect(restored.e.erasureCount()).toBe(1);
  });

  it('drops events at or before the erasure time for good, suppresses later ones until a consent after it', async () => {
    const { e, stats } = engine();
    const out: ClosedWindow[] = [];
    const erasedMs = NOW;
    e.erase('acme', 'gone', erasedMs);
    // a replay of the old history, and events after the erasure without consent: dropped
    expect(e.ingest(ev('gone', 1, erasedMs - 5 * MIN), out)).toBe('erased');
    expect(e.ingest(ev('gone', 2, erasedMs), out)).toBe('erased');
    expect(e.ingest(ev('gone', 3, erasedMs + MIN), out)).toBe('erased');
    expect(stats.dropped).toMatchObject({ erased: 2, suppressed: 1 });
    // an old consent (before the erasure) lifts nothing
    expect(e.ingest(ev('gone', 4, erasedMs - MIN, LIVE_RUN_ID, EventType.CONSENT), out)).toBe('erased');
    expect(e.ingest(ev('gone', 5, erasedMs + 2 * MIN), out)).toBe('erased');
    // a consent after it: taken, and later events too; old ones stay dropped
    expect(e.ingest(ev('gone', 6, erasedMs + 3 * MIN, LIVE_RUN_ID, EventType.CONSENT), out)).toBe('ok');
    expect(e.ingest(ev('gone', 7, erasedMs + 3 * MIN + 1_000), out)).toBe('ok');
    expect(e.ingest(ev('gone', 8, erasedMs - MIN), out)).toBe('erased');
    // another user and another tenant's user of the same id are not affected
    expect(e.ingest(ev('keep', 1, erasedMs - 5 * MIN), out)).toBe('ok');
    expect(e.ingest(create(BehaviorEventSchema, { ...ev('gone', 9, erasedMs - 5 * MIN), tenant: 'globex' }), out)).toBe(
      'ok',
    );
    e.tick(erasedMs + 60 * MIN, out);
    const gone = out.filter((w) => w.key === 'acme/gone');
    expect(gone.map((w) => [w.window.seq, w.window.eventCount])).toEqual([[0, 2]]);
  });

  it('keeps the lifted state across a checkpoint: the replayed history stays dropped after consent', async () => {
    const { e } = engine();
    const store = new MemoryCheckpointStore();
    const out: ClosedWindow[] = [];
    e.erase('acme', 'gone', NOW);
    e.ingest(ev('gone', 1, NOW + MIN, LIVE_RUN_ID, EventType.CONSENT), out);
    await save(e, store, 1);
    const r = engine();
    const cp = await store.load(scope);
    r.e.restore({ meta: cp?.meta ?? '', fields: cp?.fields ?? {} });
    expect(r.e.ingest(ev('gone', 2, NOW - MIN), out)).toBe('erased');
    expect(r.e.ingest(ev('gone', 3, NOW + 2 * MIN), out)).toBe('ok');
  });
});
