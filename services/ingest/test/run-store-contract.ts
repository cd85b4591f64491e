import { expect, it } from 'vitest';
import type { RunStore } from '../src/adapters/run-coordinator.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What every `RunStore` must do (core/run-ledger.ts), on the store's own clock: the in-memory store
 * runs it in the unit tests, the Redis store (Lua scripts) on the real Redis in test/. `run()` gives
 * a fresh run key per test.
 */
export function runStoreContract(store: () => RunStore, run: () => string): void {
  it('a send starts until the run ends; the end waits for it and sums every replica’s records', async () => {
    const s = store();
    const r = run();
    expect(await s.begin(r, 'a', 10_000)).toBe(true);
    expect(await s.begin(r, 'b', 10_000)).toBe(true);
    expect(await s.begin(r, 'b', 10_000)).toBe(true);
    await s.finish(r, 'b', [2, 0, 1]);
    expect(await s.end(r)).toEqual({ busy: 2, replicas: 2, counts: [] });
    // ended: no send of it starts any more, on any replica
    expect(await s.begin(r, 'b', 10_000)).toBe(false);
    expect(await s.begin(r, 'c', 10_000)).toBe(false);
    await s.finish(r, 'a', [1, 4]);
    expect(await s.end(r)).toEqual({ busy: 1, replicas: 1, counts: [] });
    await s.finish(r, 'b', undefined);
    expect(await s.end(r)).toEqual({ busy: 0, replicas: 0, counts: [3, 4, 1] });
    // ending again (a retried end) gives the same counts
    expect(await s.end(r)).toEqual({ busy: 0, replicas: 0, counts: [3, 4, 1] });
  });

  it('runs are independent: ending one run (or tenant) leaves the others open', async () => {
    const s = store();
    const base = run();
    const [r1, r2] = [`${base}-1`, `${base}-2`];
    expect(await s.end(r1)).toEqual({ busy: 0, replicas: 0, counts: [] });
    expect(await s.begin(r1, 'a', 10_000)).toBe(false);
    expect(await s.begin(r2, 'a', 10_000)).toBe(true);
    await s.finish(r2, 'a', [0, 1]);
    expect(await s.end(r2)).toEqual({ busy: 0, replicas: 0, counts: [0, 1] });
  });

  it('passes over a replica whose lease lapsed, and never revives a lapsed lease', async () => {
    const s = store();
    const r = run();
    expect(await s.begin(r, 'crashed', 150)).toBe(true);
    expect(await s.begin(r, 'alive', 150)).toBe(true);
    await sleep(100);
    expect(await s.renew(r, 'alive', 150)).toBe(true);
    await sleep(100);
    // 'crashed' stopped renewing 200 ms ago: its lease is gone and cannot come back
    expect(await s.renew(r, 'crashed', 150)).toBe(false);
    expect(await s.end(r)).toEqual({ busy: 1, replicas: 1, counts: [] });
    expect(await s.renew(r, 'alive', 150)).toBe(true);
    await s.finish(r, 'alive', [0, 0, 2]);
    expect(await s.end(r)).toEqual({ busy: 0, replicas: 0, counts: [0, 0, 2] });
    // nothing in flight: nothing to renew
    expect(await s.renew(r, 'alive', 150)).toBe(false);
  });
}
