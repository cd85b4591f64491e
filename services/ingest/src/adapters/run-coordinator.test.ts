import { silentLogger } from '@personastream/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { runStoreContract } from '../../test/run-store-contract.js';
import {
  createRunCoordinator,
  EndTimeoutError,
  MemoryRunStore,
  type RunCoordinator,
  type RunStore,
  type SendTicket,
} from './run-coordinator.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const fresh = () => `acme/run-${++n}`;

const open: RunCoordinator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function replica(store: RunStore, name: string, leaseMs = 10_000, monotonicNow?: () => number): RunCoordinator {
  const c = createRunCoordinator(store, { replica: name, leaseMs, logger: silentLogger(), monotonicNow });
  open.push(c);
  return c;
}

function ticketOf(r: SendTicket | { ended: string[] }): SendTicket {
  if ('ended' in r) throw new Error(`ended: ${r.ended.join(', ')}`);
  return r;
}

describe('memory run store', () => {
  runStoreContract(() => new MemoryRunStore({ retentionMs: 60_000 }), fresh);

  it('forgets a run retention after its last use, once nothing of it is in flight', async () => {
    let now = 0;
    const s = new MemoryRunStore({ now: () => now, retentionMs: 1000 });
    await s.end('acme/old');
    await s.begin('acme/busy', 'a', 100_000);
    now = 5000;
    await s.begin('acme/new', 'a', 100_000);
    // the old ended run is gone (its events would be taken again); the busy one stays
    expect(s.size).toBe(2);
    expect(await s.begin('acme/old', 'a', 1000)).toBe(true);
  });
});

describe('run coordinator (two replicas on one store)', () => {
  it("an end on one replica waits for the other's send, then every replica refuses the run", async () => {
    const store = new MemoryRunStore({ retentionMs: 60_000 });
    const a = replica(store, 'a');
    const b = replica(store, 'b');
    const r = fresh();
    const t = ticketOf(await b.begin([r]));
    let ended: { counts: number[] } | undefined;
    const ending = a.end(r, 5000).then((x) => {
      ended = x;
    });
    await sleep(60);
    expect(ended).toBeUndefined();
    expect(await a.begin([r])).toEqual({ ended: [r] });
    expect(await b.begin([r])).toEqual({ ended: [r] });
    expect(t.valid()).toBe(true);
    t.finish(new Map([[r, [3, 0, 2]]]));
    await ending;
    expect(ended).toEqual({ counts: [3, 0, 2] });
  });

  it('starts a send of several runs all or nothing', async () => {
    const store = new MemoryRunStore({ retentionMs: 60_000 });
    const a = replica(store, 'a');
    const [open1, done] = [fresh(), fresh()];
    await a.end(done, 1000);
    expect(await a.begin([open1, done])).toEqual({ ended: [done] });
    // the begin of open1 was given back: its end does not wait
    await sleep(5);
    await expect(a.end(open1, 200)).resolves.toEqual({ counts: [] });
  });

  it('times out with the number of sends still in flight; the run stays ended', async () => {
    const store = new MemoryRunStore({ retentionMs: 60_000 });
    const a = replica(store, 'a');
    const b = replica(store, 'b');
    const r = fresh();
    ticketOf(await b.begin([r]));
    const err = await a.end(r, 80).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndTimeoutError);
    expect(err).toMatchObject({ busy: 1, replicas: 1 });
    expect(await b.begin([r])).toEqual({ ended: [r] });
  });

  it("does not wait for a crashed replica's sends beyond its lease", async () => {
    const store = new MemoryRunStore({ retentionMs: 60_000 });
    const a = replica(store, 'a');
    const crashed = replica(store, 'crashed', 150);
    const r = fresh();
    ticketOf(await crashed.begin([r]));
    await crashed.close(); // no more renewals: as if the process died
    const t0 = Date.now();
    await expect(a.end(r, 2000)).resolves.toEqual({ counts: [] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
  });

  it('renews the lease of a long send, so that an end keeps waiting for it', async () => {
    const store = new MemoryRunStore({ retentionMs: 60_000 });
    const a = replica(store, 'a');
    const b = replica(store, 'b', 90);
    const r = fresh();
    const t = ticketOf(await b.begin([r]));
    let done = false;
    const ending = a.end(r, 3000).then(() => {
      done = true;
    });
    await sleep(400); // more than 4 leases
    expect(done).toBe(false);
    expect(t.valid()).toBe(true);
    t.finish(new Map([[r, [1]]]));
    await ending;
  });

  it('a send whose lease lapsed is not valid any more (the end may have passed it over)', async () => {
    // renewals fail (Redis unreachable): the lease runs out on the local clock
    const store = new MemoryRunStore({ retentionMs: 60_000 });
    const unreachable: RunStore = {
      begin: (...args) => store.begin(...args),
      finish: (...args) => store.finish(...args),
      renew: async () => {
        throw new Error('ECONNREFUSED');
      },
      end: (...args) => store.end(...args),
      close: async () => {},
    };
    let mono = 0;
    const b = replica(unreachable, 'b', 1000, () => mono);
    const r = fresh();
    const t = ticketOf(await b.begin([r]));
    mono = 999;
    expect(t.valid()).toBe(true);
    mono = 1000;
    expect(t.valid()).toBe(false);
  });

  it('judges validity from the time the begin was sent (never later than the store set the lease)', async () => {
    let mono = 0;
    const store = new MemoryRunStore({ retentionMs: 60_000 });
    const slow: RunStore = {
      begin: async (...args) => {
        mono += 400; // the answer takes 400 ms to come back
        return store.begin(...args);
      },
      finish: (...args) => store.finish(...args),
      renew: async () => false,
      end: (...args) => store.end(...args),
      close: async () => {},
    };
    const b = replica(slow, 'b', 1000, () => mono);
    const t = ticketOf(await b.begin([fresh()]));
    mono = 999;
    expect(t.valid()).toBe(true);
    mono = 1000;
    expect(t.valid()).toBe(false);
  });
});
