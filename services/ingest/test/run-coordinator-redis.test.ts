import { deleteKeysWithPrefix, silentLogger } from '@personastream/runtime';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisRunStore } from '../src/adapters/redis-run-store.js';
import { createRunCoordinator, type RunCoordinator, type SendTicket } from '../src/adapters/run-coordinator.js';
import { requireEnv, uniqueSuffix } from './helpers.js';
import { runStoreContract } from './run-store-contract.js';

// The Redis run store (Lua scripts) on the real local Redis, under this file's own key prefix.
const url = requireEnv('REDIS_URL');
const prefix = `ingest-it-${uniqueSuffix()}:`;
const stores: RedisRunStore[] = [];
const coordinators: RunCoordinator[] = [];
const admin = new Redis(url);
let n = 0;
const fresh = () => `acme/run-${++n}`;

function store(retentionMs = 60_000): RedisRunStore {
  const s = new RedisRunStore({ url, keyPrefix: prefix, retentionMs });
  stores.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(coordinators.map((c) => c.close()));
  await Promise.all(stores.map((s) => s.close()));
  await deleteKeysWithPrefix(admin, prefix);
  await admin.quit();
});

describe('Redis run store', () => {
  runStoreContract(() => store(), fresh);

  it('keeps one hash per run, expiring retention after its last use, with fields only for sends in flight', async () => {
    const s = store(5000);
    const r = fresh();
    await s.begin(r, 'a', 10_000);
    await s.begin(r, 'b', 10_000);
    const ttl = await admin.pttl(s.key(r));
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
    expect(Object.keys(await admin.hgetall(s.key(r))).sort()).toEqual(['l:a', 'l:b', 'n:a', 'n:b']);
    await s.finish(r, 'a', [0, 3]);
    await s.finish(r, 'b', [1]);
    await s.end(r);
    // what stays of an ended run: when it ended and its counts
    expect(Object.keys(await admin.hgetall(s.key(r))).sort()).toEqual(['c:0', 'c:1', 'ended']);
    expect(await admin.keys(`${prefix}run:${r}*`)).toEqual([s.key(r)]);
  });

  it('two replicas on their own connections: the end waits for the other, then both refuse the run', async () => {
    const a = createRunCoordinator(store(), { replica: 'replica-a', leaseMs: 5000, logger: silentLogger() });
    const b = createRunCoordinator(store(), { replica: 'replica-b', leaseMs: 5000, logger: silentLogger() });
    coordinators.push(a, b);
    const r = fresh();
    const t = (await b.begin([r])) as SendTicket;
    expect(typeof t.valid).toBe('function');
    let ended: { counts: number[] } | undefined;
    const ending = a.end(r, 10_000).then((x) => {
      ended = x;
    });
    await new Promise((res) => setTimeout(res, 150));
    expect(ended).toBeUndefined();
    expect(await b.begin([r])).toEqual({ ended: [r] });
    expect(await a.begin([r])).toEqual({ ended: [r] });
    t.finish(new Map([[r, [4, 0, 1]]]));
    await ending;
    expect(ended).toEqual({ counts: [4, 0, 1] });
  });

  it("an end is not blocked by a crashed replica's sends once its lease lapsed", async () => {
    const a = createRunCoordinator(store(), { replica: 'replica-a', leaseMs: 5000, logger: silentLogger() });
    const crashed = createRunCoordinator(store(), { replica: 'crashed', leaseMs: 300, logger: silentLogger() });
    coordinators.push(a);
    const r = fresh();
    await crashed.begin([r]);
    await crashed.close();
    const t0 = Date.now();
    await expect(a.end(r, 5000)).resolves.toEqual({ counts: [] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });
});
