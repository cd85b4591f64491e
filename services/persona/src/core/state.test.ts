import { create } from '@bufbuild/protobuf';
import { enabledDimensions, NotableEventSchema, SemantizedWindowSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { syntheticBackend } from '../testing.js';
import {
  applyWindow,
  applyWindowAsync,
  applyWindowsInOrder,
  applyWindowsInOrderAsync,
  type PersonaState,
  type UserSnapshot,
} from './state.js';
import { categoryOnsetMs, emptyStats, updateStats } from './stats.js';
import { syntheticUsers } from './synthetic.js';

const backend = syntheticBackend();
const [user] = syntheticUsers({ users: 1, seed: 77, tenant: 't', windowsPerUser: 12 });
if (!user) throw new Error('no user');
const DAY = 86_400_000;

describe('applyWindow', () => {
  it('increases the version by one per new window and ignores a repeated window id', () => {
    let state: PersonaState | undefined;
    for (const [i, w] of user.windows.entries()) {
      const r = applyWindow(state, w, backend, { nowMs: 1000 + i });
      expect(r.applied).toBe(true);
      expect(r.persona.version).toBe(i + 1);
      expect(r.persona.windowsSeen).toBe(i + 1);
      expect(r.samples).toHaveLength(1);
      state = r.state;
    }
    const before = JSON.stringify(state?.stats);
    const again = applyWindow(state, user.windows[3] as (typeof user.windows)[number], backend, { nowMs: 5000 });
    expect(again.applied).toBe(false);
    expect(again.state).toBe(state);
    expect(again.persona.version).toBe(12);
    expect(JSON.stringify(again.state.stats)).toBe(before);
  });

  it('is pure by default (the input state is not modified) and deterministic', () => {
    const a = applyWindow(undefined, user.windows[0] as (typeof user.windows)[number], backend, { nowMs: 1 });
    const snapshot = JSON.stringify(a.state.stats);
    const b1 = applyWindow(a.state, user.windows[1] as (typeof user.windows)[number], backend, { nowMs: 2 });
    const b2 = applyWindow(a.state, user.windows[1] as (typeof user.windows)[number], backend, { nowMs: 2 });
    expect(JSON.stringify(a.state.stats)).toBe(snapshot);
    expect(b1.persona.summary).toBe(b2.persona.summary);
    expect(JSON.stringify(b1.persona.tags)).toBe(JSON.stringify(b2.persona.tags));
  });

  it('never predicts dimensions that are not enabled and honours k samples', async () => {
    const dims = enabledDimensions(false);
    const r = await applyWindowAsync(undefined, user.windows[0] as (typeof user.windows)[number], backend, {
      enabledDimensions: dims,
      samples: 3,
    });
    expect(r.persona.tags.some((t) => t.dimension === 'gender')).toBe(false);
    expect(r.samples).toHaveLength(3);
  });
});

describe("applyWindowsInOrder (one user's windows of a batch)", () => {
  const ws = user.windows;
  const fresh: UserSnapshot = { state: undefined, erased: false, pending: new Map() };

  it('gives every window the persona one-at-a-time application gives, versions +1 in order', () => {
    const seq = applyWindowsInOrder(fresh, ws, backend, { nowMs: 7 });
    let state: PersonaState | undefined;
    seq.steps.forEach((step, i) => {
      const r = applyWindow(state, ws[i] as (typeof ws)[number], backend, { nowMs: 7 });
      state = r.state;
      expect(step.status).toBe('applied');
      if (step.status === 'applied') {
        expect(step.persona.version).toBe(i + 1);
        expect(step.persona).toEqual(r.persona);
      }
    });
    expect(seq.state?.persona.version).toBe(ws.length);
    expect(JSON.stringify(seq.state?.stats)).toBe(JSON.stringify(state?.stats));
    expect(seq.liftsErasure).toBe(false);
  });

  it('applies a window once per batch and never one the store already applied (its output handed back)', () => {
    const pending = new Uint8Array([9]);
    // The store applied windows 0–2; the output of window 1 was never acknowledged as published.
    const before = applyWindowsInOrder(fresh, ws.slice(0, 3), backend, { nowMs: 1 }).state;
    const snapshot: UserSnapshot = {
      state: before,
      erased: false,
      pending: new Map([[ws[1]?.windowId as string, pending]]),
    };
    // A redelivery of a prefix (windows repeated within the batch too), then new windows.
    const batch = [ws[1], ws[0], ws[2], ws[3], ws[3], ws[1], ws[4]].map((w) => w as (typeof ws)[number]);
    const seq = applyWindowsInOrder(snapshot, batch, backend, { nowMs: 1 });
    expect(seq.steps.map((s) => s.status)).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'applied',
      'duplicate',
      'duplicate',
      'applied',
    ]);
    // The unacknowledged output of an earlier apply is handed back once per batch.
    expect(seq.steps[0]).toEqual({ status: 'duplicate', pending });
    expect(seq.steps[5]).toEqual({ status: 'duplicate' });
    expect(seq.steps[2]).toEqual({ status: 'duplicate' });
    expect(seq.steps.flatMap((s) => (s.status === 'applied' ? [s.persona.version] : []))).toEqual([4, 5]);
    expect(seq.state?.stats.windows).toBe(5);
  });

  it("does not modify the snapshot's state unless told to (inPlace)", () => {
    const first = applyWindow(undefined, ws[0] as (typeof ws)[number], backend, { nowMs: 1 });
    const before = JSON.stringify(first.state.stats);
    const seq = applyWindowsInOrder({ ...fresh, state: first.state }, ws.slice(1, 4), backend, { nowMs: 1 });
    expect(JSON.stringify(first.state.stats)).toBe(before);
    expect(seq.state?.persona.version).toBe(4);
    const inPlace = applyWindowsInOrder({ ...fresh, state: first.state }, ws.slice(1, 4), backend, { inPlace: true });
    expect(inPlace.state?.stats).toBe(first.state.stats);
  });

  it('ignores windows of an erased user until a consent window, which lifts the erasure', async () => {
    const consent = create(SemantizedWindowSchema, {
      ...(ws[2] as (typeof ws)[number]),
      notable: [create(NotableEventSchema, { kind: 'consent', detail: 'consent granted' })],
    });
    const seq = await applyWindowsInOrderAsync(
      { ...fresh, erased: true },
      [ws[0], ws[1], consent, ws[3]].map((w) => w as (typeof ws)[number]),
      backend,
    );
    expect(seq.steps.map((s) => s.status)).toEqual(['erased', 'erased', 'applied', 'applied']);
    expect(seq.liftsErasure).toBe(true);
    expect(seq.state?.persona.version).toBe(2);
    const none = applyWindowsInOrder({ ...fresh, erased: true }, ws.slice(0, 2), backend);
    expect(none.steps.map((s) => s.status)).toEqual(['erased', 'erased']);
    expect(none.liftsErasure).toBe(false);
    expect(none.state).toBeUndefined();
  });
});

describe('sufficient statistics', () => {
  it('decays the recent horizon with the half-life in event time, whatever the arrival order', () => {
    const w = (day: number, id: string) =>
      create(SemantizedWindowSchema, {
        windowId: id,
        tenant: 't',
        userId: 'u',
        startMs: Date.UTC(2026, 0, 1) + day * DAY,
        endMs: Date.UTC(2026, 0, 1) + day * DAY + 60_000,
        eventCount: 1,
        actions: [{ action: 'view', category: 'Books > Fiction', count: 1 }],
      });
    const inOrder = emptyStats({ halfLifeDays: 10 });
    for (const x of [w(0, 'a'), w(10, 'b'), w(20, 'c')]) updateStats(inOrder, x);
    const late = emptyStats({ halfLifeDays: 10 });
    for (const x of [w(0, 'a'), w(20, 'c'), w(10, 'b')]) updateStats(late, x);
    // 0.25 + 0.5 + 1 windows on the recent horizon, as of day 20.
    expect(inOrder.recentWindows).toBeCloseTo(1.75, 9);
    expect(late.recentWindows).toBeCloseTo(1.75, 9);
    expect(late.cats.Books?.r).toBeCloseTo(1.75, 9);
    expect(inOrder.windows).toBe(3);
  });

  it('estimates when a category burst began (life-event onset)', () => {
    const s = emptyStats();
    const start = Date.UTC(2026, 0, 1);
    for (let d = 0; d < 60; d += 2) {
      const actions = [{ action: 'view', category: 'Books > Fiction', count: 2 }];
      if (d >= 30) actions.push({ action: 'view', category: 'Baby > Essentials', count: 3 });
      updateStats(
        s,
        create(SemantizedWindowSchema, {
          windowId: `w${d}`,
          tenant: 't',
          userId: 'u',
          startMs: start + d * DAY,
          endMs: start + d * DAY + 1000,
          eventCount: 5,
          actions,
        }),
      );
    }
    const baby = s.cats.Baby;
    if (!baby) throw new Error('no Baby stats');
    expect(baby.burst).toBe(start + 30 * DAY);
    expect(Math.abs(categoryOnsetMs(s, baby) - (start + 30 * DAY))).toBeLessThan(3 * DAY);
  });
});
