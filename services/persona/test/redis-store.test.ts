import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisPersonaStore } from '../src/adapters/redis-store.js';
import { applyWindowAsync } from '../src/core/state.js';
import { syntheticUsers } from '../src/core/synthetic.js';
import { syntheticBackend } from '../src/testing.js';
import { requireEnv, uniqueSuffix } from './helpers.js';

// The Redis store on real Redis: atomic apply under contention, pending outbox, erasure, watch.
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

const apply = (i: number, pending?: Uint8Array) =>
  store.applyAtomically('t', u.userId, u.windows[i]?.windowId ?? '', async (cur) => {
    const r = await applyWindowAsync(cur, u.windows[i] as (typeof u.windows)[number], backend, { inPlace: true });
    await new Promise((res) => setTimeout(res, 5)); // widen the race window
    return { state: r.state, result: r.persona.version, ...(pending ? { pending } : {}) };
  });

describe('RedisPersonaStore', () => {
  it('applies concurrent windows of one user one after the other (compare-and-set retries)', async () => {
    const outcomes = await Promise.all([0, 1, 2, 3].map((i) => apply(i)));
    expect(outcomes.every((o) => o.status === 'applied')).toBe(true);
    const versions = outcomes.map((o) => (o.status === 'applied' ? o.result : 0)).sort();
    expect(versions).toEqual([1, 2, 3, 4]);
    expect((await store.get('t', u.userId))?.version).toBe(4);
    expect((await store.getState('t', u.userId))?.stats.windows).toBe(4);
    // The same window id twice, even concurrently: applied once.
    const dup = await Promise.all([apply(4), apply(4)]);
    expect(dup.map((o) => o.status).sort()).toEqual(['applied', 'duplicate']);
    expect((await store.get('t', u.userId))?.version).toBe(5);
  });

  it('keeps the output of an update pending until acknowledged, and hands it back for a redelivery', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect((await apply(5, bytes)).status).toBe('applied');
    const redelivered = await apply(5);
    expect(redelivered).toEqual({ status: 'duplicate', pending: new Uint8Array([1, 2, 3]) });
    await store.ackPending([{ tenant: 't', userId: u.userId, windowId: u.windows[5]?.windowId ?? '' }]);
    expect(await apply(5)).toEqual({ status: 'duplicate' });
  });

  it('erases persona, statistics and applied ids, publishes a tombstone and ignores windows until restored', async () => {
    const changes: Array<[number, boolean]> = [];
    const unsubscribe = await store.subscribe('t', u.userId, (c) => changes.push([c.version, c.tombstone]));
    const k = store.keys('t', u.userId);
    const del = await store.delete('t', u.userId);
    expect(del).toEqual({ existed: true, version: 7 });
    expect(await redis.exists(k.state, k.applied)).toBe(0);
    expect(await store.isErased('t', u.userId)).toBe(true);
    expect((await apply(6)).status).toBe('erased');
    expect(await store.restore('t', u.userId)).toBe(true);
    const back = await apply(6);
    expect(back.status === 'applied' && back.result).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    await unsubscribe();
    expect(changes).toEqual([
      [7, true],
      [1, false],
    ]);
  });
});
