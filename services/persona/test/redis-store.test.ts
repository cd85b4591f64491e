import { create, toBinary } from '@bufbuild/protobuf';
import { NotableEventSchema, PersonaSchema, SemantizedWindowSchema } from '@personastream/contracts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_APPLIED_TTL_S, RedisPersonaStore } from '../src/adapters/redis-store.js';
import type { AppliedWindow, PlanUser, UserBatch } from '../src/adapters/store.js';
import { MAX_RUNS_KEPT } from '../src/core/bookkeeping.js';
import { applyWindow, applyWindowsInOrder, type PersonaState, type WindowStep } from '../src/core/state.js';
import { syntheticEarlyWindow, syntheticUsers } from '../src/core/synthetic.js';
import { syntheticBackend } from '../src/testing.js';
import { requireEnv, uniqueSuffix } from './helpers.js';

// The Redis store on real Redis: atomic batched apply under contention, duplicates, pending outbox,
// early windows (overlay), bounded bookkeeping, erasure, watch.
const redisUrl = requireEnv('REDIS_URL');
const prefix = `ps:test:store:${uniqueSuffix()}:`;
const backend = syntheticBackend();
const [u] = syntheticUsers({ users: 1, seed: 3, tenant: 't', windowsPerUser: 8 });
if (!u) throw new Error('no user');

let redis: Redis;
let store: RedisPersonaStore;

beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  store = new RedisPersonaStore({ client: redis, keyPrefix: prefix });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await store.close();
  await redis.quit();
});

type W = (typeof u.windows)[number];
const win = (i: number) => u.windows[i] as W;

/** A plan like the service's: the windows in order, each applied one's persona and output written. */
function planner(pending?: Uint8Array, delayMs = 5): PlanUser<UserBatch & { windows: W[] }, WindowStep[]> {
  return async (snapshot, user) => {
    const seq = applyWindowsInOrder(snapshot, user.windows, backend, { inPlace: true });
    await new Promise((res) => setTimeout(res, delayMs)); // widen the race window
    const applied: AppliedWindow[] = [];
    seq.steps.forEach((step, k) => {
      if (step.status !== 'applied') return;
      const personaBytes = toBinary(PersonaSchema, step.persona);
      applied.push({
        windowId: (user.windows[k] as W).windowId,
        persona: step.persona,
        personaBytes,
        pending: pending ?? new Uint8Array(),
      });
    });
    const write = seq.state && applied.length > 0 ? { state: seq.state, applied } : undefined;
    return write ? { write, result: seq.steps } : { result: seq.steps };
  };
}

const batchOf = (idx: number[], userId = u.userId, runId?: string) => {
  const windows = idx.map((i) => create(SemantizedWindowSchema, { ...win(i), userId, ...(runId ? { runId } : {}) }));
  return batchOfWindows(windows, userId);
};
const batchOfWindows = (windows: W[], userId = u.userId) => ({
  tenant: 't',
  userId,
  windows,
  windowIds: windows.map((w) => w.windowId),
});

/** Applies windows `idx` of the user as one batch (of run `runId`, default the windows' own); the steps of its windows. */
const apply = async (idx: number[], pending?: Uint8Array, runId?: string) =>
  (await store.applyBatch([batchOf(idx, u.userId, runId)], planner(pending)))[0] as WindowStep[];
const applyWindows = async (windows: W[], userId: string) =>
  (await store.applyBatch([batchOfWindows(windows, userId)], planner(undefined, 0)))[0] as WindowStep[];
const statuses = (steps: WindowStep[]) => steps.map((s) => s.status);
const versions = (steps: WindowStep[]) => steps.flatMap((s) => (s.status === 'applied' ? [s.persona.version] : []));

describe('RedisPersonaStore', () => {
  it('applies concurrent batches of one user one after the other (compare-and-set retries)', async () => {
    // Three runs, so every order of the concurrent batches applies all of them (within one run,
    // windows are identified by seq: whichever batch lands first would make lower seqs duplicates).
    const outcomes = await Promise.all([[0], [1], [2, 3]].map((idx, k) => apply(idx, undefined, `contention-${k}`)));
    expect(outcomes.flat().every((o) => o.status === 'applied')).toBe(true);
    expect(outcomes.flatMap(versions).sort()).toEqual([1, 2, 3, 4]);
    expect(versions(outcomes[2] as WindowStep[])[1]).toBe((versions(outcomes[2] as WindowStep[])[0] as number) + 1);
    expect((await store.get('t', u.userId))?.version).toBe(4);
    expect((await store.getState('t', u.userId))?.stats.windows).toBe(4);
    // The same window id twice, even concurrently, and twice within one batch: applied once.
    const dup = await Promise.all([apply([4]), apply([4])]);
    expect(
      dup
        .flat()
        .map((o) => o.status)
        .sort(),
    ).toEqual(['applied', 'duplicate']);
    expect(statuses(await apply([4, 0, 4]))).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect((await store.get('t', u.userId))?.version).toBe(5);
    // Bookkeeping instead of a set of ids: the highest seq per run.
    const book = JSON.parse((await redis.hget(store.keys('t', u.userId).state, 'book')) ?? '{}');
    expect(book.r.map((r: [string, number]) => r[0]).sort()).toEqual([
      'contention-0',
      'contention-1',
      'contention-2',
      'synthetic',
    ]);
    expect(book.r.find((r: [string, number]) => r[0] === 'synthetic')).toEqual(['synthetic', 4]);
    expect(await redis.exists(store.keys('t', u.userId).legacyApplied)).toBe(0);
  });

  it("writes many users in one call, each user's windows in order, duplicates in the batch applied once", async () => {
    const users = ['m1', 'm2', 'm3'].map((id, j) => batchOf(j === 1 ? [0, 1, 0, 2, 1] : [0, 1, 2], id));
    const res = await store.applyBatch(users, planner(undefined, 0));
    expect(res.map(statuses)).toEqual([
      ['applied', 'applied', 'applied'],
      ['applied', 'applied', 'duplicate', 'applied', 'duplicate'],
      ['applied', 'applied', 'applied'],
    ]);
    expect(res.map(versions)).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    // Watchers see every version; the stored persona is the last.
    for (const id of ['m1', 'm2', 'm3']) expect((await store.get('t', id))?.version).toBe(3);
    const again = await store.applyBatch(users, planner(undefined, 0));
    expect(again.flat().every((o) => o.status === 'duplicate')).toBe(true);
  });

  it('keeps the output of an update pending until acknowledged, and hands it back for a redelivery', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(statuses(await apply([5], bytes))).toEqual(['applied']);
    const redelivered = await apply([5]);
    expect(redelivered).toEqual([{ status: 'duplicate', pending: new Uint8Array([1, 2, 3]) }]);
    await store.ackPending([{ tenant: 't', userId: u.userId, windowId: win(5).windowId }]);
    expect(await apply([5])).toEqual([{ status: 'duplicate' }]);
  });

  it('erases persona, statistics and applied ids, publishes a tombstone and ignores windows until restored', async () => {
    const changes: Array<[number, boolean]> = [];
    const unsubscribe = await store.subscribe('t', u.userId, (c) => changes.push([c.version, c.tombstone]));
    const k = store.keys('t', u.userId);
    // erased just before window 6 started (windows 6 and 7 are "later" events)
    const del = await store.delete('t', u.userId, win(6).startMs - 1);
    expect(del).toEqual({ existed: true, version: 7 });
    // Nothing in Redis names the user: the erasure marker is in the user's slot under a digest.
    expect(await redis.keys(`${prefix}{t/${u.userId}}*`)).toEqual([]);
    expect(k.erased).not.toContain(u.userId);
    expect(await redis.get(k.erased)).toBe(String(win(6).startMs - 1));
    expect(await store.isErased('t', u.userId)).toBe(true);
    expect(statuses(await apply([6]))).toEqual(['erased']);
    expect(await store.restore('t', u.userId)).toBe(true);
    expect(await redis.get(k.erased)).toBe(`+${win(6).startMs - 1}`);
    expect(versions(await apply([6, 7]))).toEqual([1, 2]);
    // windows from before the erasure stay ignored after the restore (a replay)
    expect(statuses(await apply([5]))).toEqual(['erased']);
    await new Promise((r) => setTimeout(r, 100));
    await unsubscribe();
    expect(changes).toEqual([
      [7, true],
      [1, false],
      [2, false],
    ]);
  });

  it('lifts an erasure with a consent window in the same atomic write (windows before it stay ignored)', async () => {
    const userId = 'consenting';
    expect(versions((await store.applyBatch([batchOf([0], userId)], planner()))[0] as WindowStep[])).toEqual([1]);
    await store.delete('t', userId, win(2).startMs - 1);
    const consent = create(SemantizedWindowSchema, {
      ...win(2),
      userId,
      notable: [create(NotableEventSchema, { kind: 'consent', detail: 'consent granted' })],
    });
    const b = batchOf([1], userId);
    const batch = { ...b, windows: [...b.windows, consent], windowIds: [...b.windowIds, consent.windowId] };
    const [steps] = await store.applyBatch([batch], planner());
    expect(statuses(steps as WindowStep[])).toEqual(['erased', 'applied']);
    expect(await store.isErased('t', userId)).toBe(false);
    expect((await store.get('t', userId))?.version).toBe(1);
  });
});

describe('RedisPersonaStore: early windows and bounded bookkeeping', () => {
  const finals = u.windows.map((w) => create(SemantizedWindowSchema, { ...w, runId: 'live' }));
  const f = (i: number) => finals[i] as W;

  it('keeps an early window as the overlay (base untouched) until its final window, which gives the statistics of the final alone', async () => {
    const userId = 'early-user';
    const k = store.keys('t', userId);
    expect((await applyWindows(finals.slice(0, 3), userId)).map((s) => s.status)).toEqual([
      'applied',
      'applied',
      'applied',
    ]);
    const baseBefore = await redis.hget(k.state, 'stats');
    const [e1, e2, e3] = [1, 2, 3].map((r) => syntheticEarlyWindow(f(3), r, r * 0.3)) as [W, W, W];
    expect((await applyWindows([e1, e2], userId)).map((s) => s.status)).toEqual(['applied', 'applied']);
    expect(await redis.hget(k.state, 'stats')).toBe(baseBefore);
    expect(await redis.hexists(k.state, 'ov')).toBe(1);
    const shown = await store.get('t', userId);
    expect([shown?.early, shown?.version, shown?.windowsSeen]).toEqual([true, 5, 4]);
    const state = (await store.getState('t', userId)) as PersonaState;
    expect([state.overlay?.runId, state.overlay?.seq, state.overlay?.revision]).toEqual(['live', 3, 2]);
    expect(state.overlay?.window).toEqual(e2);
    // A stale revision is a duplicate; the next one and the final window apply.
    expect((await applyWindows([e1, e3, f(3), e2], userId)).map((s) => s.status)).toEqual([
      'duplicate',
      'applied',
      'applied',
      'duplicate',
    ]);
    expect(await redis.hexists(k.state, 'ov')).toBe(0);
    let alone: PersonaState | undefined;
    for (const w of finals.slice(0, 4)) alone = applyWindow(alone, w, backend, { nowMs: 0 }).state;
    expect(await redis.hget(k.state, 'stats')).toBe(JSON.stringify(alone?.stats));
    const final = await store.get('t', userId);
    expect([final?.early, final?.version, final?.windowsSeen, final?.eventsSeen]).toEqual([
      false,
      7,
      4,
      alone?.persona.eventsSeen,
    ]);
    expect(final?.tags).toEqual(alone?.persona.tags);
    expect(final?.summary).toBe(alone?.persona.summary);
  });

  it('keeps the overlay over a final window of another run', async () => {
    const userId = 'overlay-kept';
    const k = store.keys('t', userId);
    const e = syntheticEarlyWindow(f(1), 1, 0.5);
    await applyWindows([f(0), e], userId);
    const ov = await redis.hgetBuffer(k.state, 'ov');
    const replay = create(SemantizedWindowSchema, { ...win(5), runId: 'replay', seq: 0 });
    expect((await applyWindows([replay], userId)).map((s) => s.status)).toEqual(['applied']);
    expect(await redis.hgetBuffer(k.state, 'ov')).toEqual(ov);
    const p = await store.get('t', userId);
    expect([p?.early, p?.windowsSeen]).toEqual([true, 3]);
    expect((await store.getState('t', userId))?.stats.windows).toBe(2);
  });

  it(`keeps the marks of the ${MAX_RUNS_KEPT} most recently used runs, and no set of window ids`, async () => {
    const userId = 'many-runs';
    const k = store.keys('t', userId);
    const runs = Array.from({ length: MAX_RUNS_KEPT + 6 }, (_, i) => `run-${i}`);
    for (let i = 0; i < runs.length; i += 10) {
      const windows = runs.slice(i, i + 10).map((r) => create(SemantizedWindowSchema, { ...win(0), runId: r, seq: 0 }));
      expect((await applyWindows(windows, userId)).every((s) => s.status === 'applied')).toBe(true);
    }
    const book = JSON.parse((await redis.hget(k.state, 'book')) as string);
    expect(book.r).toHaveLength(MAX_RUNS_KEPT);
    expect(book.r[0]).toEqual(['run-6', 0]);
    expect((await redis.hkeys(k.state)).sort()).toEqual(['book', 'persona', 'stats', 'v']);
    // A recent run's window is a duplicate; one of a run past the bound is applied again.
    const again = ['run-69', 'run-0'].map((r) => create(SemantizedWindowSchema, { ...win(0), runId: r, seq: 0 }));
    expect((await applyWindows(again, userId)).map((s) => s.status)).toEqual(['duplicate', 'applied']);
  });

  it('moves a user stored with a set of applied ids to the bookkeeping; windows in the set stay duplicates for a week', async () => {
    const userId = 'legacy-user';
    const k = store.keys('t', userId);
    await applyWindows([f(0)], userId);
    // As the previous layout left it: no bookkeeping, a set of applied ids — of two runs.
    await redis.hdel(k.state, 'book');
    const other = create(SemantizedWindowSchema, { ...f(0), windowId: 'other-run-0', runId: 'other-run' });
    await redis.sadd(k.legacyApplied, f(0).windowId, other.windowId);
    // redelivered during the upgrade: both duplicates; the next window is applied
    expect((await applyWindows([f(0), other, f(1)], userId)).map((s) => s.status)).toEqual([
      'duplicate',
      'duplicate',
      'applied',
    ]);
    expect(JSON.parse((await redis.hget(k.state, 'book')) as string)).toEqual({ r: [['live', 1]] });
    // still known after the first write in the new layout (the set expires in a week)
    expect(await redis.ttl(k.legacyApplied)).toBeGreaterThan(LEGACY_APPLIED_TTL_S - 60);
    expect((await applyWindows([other], userId)).map((s) => s.status)).toEqual(['duplicate']);
    await redis.sadd(k.legacyApplied, 'x');
    await store.delete('t', userId);
    expect(await redis.keys(`${prefix}{t/${userId}}*`)).toEqual([]);
    expect(await redis.exists(k.erased)).toBe(1);
  });

  it('moves an erasure marker of the previous layout (named by the user) to the current key on read', async () => {
    const userId = 'legacy-erased';
    const k = store.keys('t', userId);
    const at = win(3).startMs - 1;
    await redis.set(k.legacyErased, String(at));
    expect(await store.isErased('t', userId)).toBe(true);
    expect(statuses((await store.applyBatch([batchOf([2, 3], userId)], planner()))[0] as WindowStep[])).toEqual([
      'erased',
      'erased',
    ]);
    expect(await redis.exists(k.legacyErased)).toBe(0);
    expect(await redis.get(k.erased)).toBe(String(at));
  });
});
