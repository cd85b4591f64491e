import { create, toBinary } from '@bufbuild/protobuf';
import { NotableEventSchema, PersonaSchema, SemantizedWindowSchema } from '@personastream/contracts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisPersonaStore } from '../src/adapters/redis-store.js';
import type { AppliedWindow, PlanUser, UserBatch } from '../src/adapters/store.js';
import { applyWindowsInOrder, type WindowStep } from '../src/core/state.js';
import { syntheticUsers } from '../src/core/synthetic.js';
import { syntheticBackend } from '../src/testing.js';
import { requireEnv, uniqueSuffix } from './helpers.js';

// The Redis store on real Redis: atomic batched apply under contention, duplicates, pending outbox, erasure, watch.
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

const batchOf = (idx: number[], userId = u.userId) => {
  const windows = idx.map((i) => create(SemantizedWindowSchema, { ...win(i), userId }));
  return { tenant: 't', userId, windows, windowIds: windows.map((w) => w.windowId) };
};

/** Applies windows `idx` of the user as one batch; the steps of its windows. */
const apply = async (idx: number[], pending?: Uint8Array) =>
  (await store.applyBatch([batchOf(idx)], planner(pending)))[0] as WindowStep[];
const statuses = (steps: WindowStep[]) => steps.map((s) => s.status);
const versions = (steps: WindowStep[]) => steps.flatMap((s) => (s.status === 'applied' ? [s.persona.version] : []));

describe('RedisPersonaStore', () => {
  it('applies concurrent batches of one user one after the other (compare-and-set retries)', async () => {
    const outcomes = await Promise.all([[0], [1], [2, 3]].map((idx) => apply(idx)));
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
    expect(await redis.scard(store.keys('t', u.userId).applied)).toBe(5);
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
    const del = await store.delete('t', u.userId);
    expect(del).toEqual({ existed: true, version: 7 });
    expect(await redis.exists(k.state, k.applied)).toBe(0);
    expect(await store.isErased('t', u.userId)).toBe(true);
    expect(statuses(await apply([6]))).toEqual(['erased']);
    expect(await store.restore('t', u.userId)).toBe(true);
    expect(versions(await apply([6, 7]))).toEqual([1, 2]);
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
    await store.delete('t', userId);
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
