import { describe, expect, it } from 'vitest';
import { beginSend, endStep, finishSend, newRunLedger, renewLease } from './run-ledger.js';

const LEASE = 1000;

describe('run ledger', () => {
  it('counts sends per replica and forgets a replica at zero', () => {
    const run = newRunLedger();
    expect(beginSend(run, 'a', 0, LEASE)).toBe(true);
    expect(beginSend(run, 'a', 10, LEASE)).toBe(true);
    expect(beginSend(run, 'b', 20, LEASE)).toBe(true);
    expect(run.sends.get('a')).toEqual({ inflight: 2, leaseUntil: 1010 });
    finishSend(run, 'a', [1, 2]);
    finishSend(run, 'a', [0, 0, 3]);
    expect(run.sends.has('a')).toBe(false);
    finishSend(run, 'b', [4]);
    expect(run.sends.size).toBe(0);
    expect(run.counts).toEqual([5, 2, 3]);
    // a finish without a begin (e.g. after the end forgot a lapsed replica) changes no count
    finishSend(run, 'c');
    expect(run.sends.size).toBe(0);
  });

  it('an end marks the run ended once and waits for live leases only', () => {
    const run = newRunLedger();
    beginSend(run, 'a', 0, LEASE);
    beginSend(run, 'a', 0, LEASE);
    beginSend(run, 'b', 500, LEASE);
    expect(endStep(run, 600)).toEqual({ busy: 3, replicas: 2 });
    expect(run.ended).toBe(600);
    expect(beginSend(run, 'c', 700, LEASE)).toBe(false);
    expect(run.sends.has('c')).toBe(false);
    // a's lease lapsed at 1000 (it crashed): passed over and forgotten; b still counts
    expect(endStep(run, 1000)).toEqual({ busy: 1, replicas: 1 });
    expect(run.sends.has('a')).toBe(false);
    expect(run.ended).toBe(600);
    finishSend(run, 'b', [0, 7]);
    expect(endStep(run, 1100)).toEqual({ busy: 0, replicas: 0 });
    expect(run.counts).toEqual([0, 7]);
  });

  it('renews a lease only while it holds (a lapsed lease is never revived)', () => {
    const run = newRunLedger();
    expect(renewLease(run, 'a', 0, LEASE)).toBe(false);
    beginSend(run, 'a', 0, LEASE);
    expect(renewLease(run, 'a', 900, LEASE)).toBe(true);
    expect(run.sends.get('a')?.leaseUntil).toBe(1900);
    expect(renewLease(run, 'a', 1900, LEASE)).toBe(false);
    expect(run.sends.get('a')?.leaseUntil).toBe(1900);
    // the end passes it over
    expect(endStep(run, 2000).busy).toBe(0);
  });
});
