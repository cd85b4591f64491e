import { create, toBinary } from '@bufbuild/protobuf';
import { PersonaSchema, type SemantizedWindow, SemantizedWindowSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../model-file.js';
import {
  afterApply,
  decodeBookkeeping,
  encodeBookkeeping,
  isDuplicateWindow,
  MAX_RUNS_KEPT,
  markOf,
  withMark,
} from './bookkeeping.js';
import { createBuiltinBackend } from './builtin/backend.js';
import { flippedDimensions } from './flips.js';
import { type ApplyResult, applyWindow, applyWindowsInOrder, type PersonaState } from './state.js';
import { syntheticEarlyWindow, syntheticUsers } from './synthetic.js';

// The real default model: summaries and evidence as the service writes them.
const backend = createBuiltinBackend(loadModel());
const [user] = syntheticUsers({ users: 1, seed: 41, tenant: 't', windowsPerUser: 10 });
if (!user) throw new Error('no user');
type W = SemantizedWindow;
const ws = user.windows.map((w) => create(SemantizedWindowSchema, { ...w, runId: 'live' }));
const win = (i: number) => ws[i] as W;

const earlyOf = syntheticEarlyWindow;

/** Applies windows one at a time from `state`; every result. */
function run(state: PersonaState | undefined, windows: readonly W[], nowMs = 5): ApplyResult[] {
  const out: ApplyResult[] = [];
  for (const w of windows) {
    const r = applyWindow(state, w, backend, { nowMs });
    out.push(r);
    state = r.state;
  }
  return out;
}

const last = <T>(xs: readonly T[]): T => xs[xs.length - 1] as T;
const statsJson = (s: PersonaState | undefined) => JSON.stringify(s?.stats);
/** What must not depend on early windows: the persona's content (not its version or wall time). */
const content = (r: ApplyResult) => ({
  tags: toBinary(PersonaSchema, create(PersonaSchema, { tags: r.persona.tags })),
  summary: r.persona.summary,
  windowsSeen: r.persona.windowsSeen,
  eventsSeen: r.persona.eventsSeen,
  lastEventTimeMs: r.persona.lastEventTimeMs,
  early: r.persona.early,
});

describe('early windows (the overlay): every event counts once', () => {
  const prior = last(run(undefined, ws.slice(0, 5))).state;
  const f5 = win(5);
  const early = [earlyOf(f5, 1, 0.3), earlyOf(f5, 2, 0.6), earlyOf(f5, 3, 0.9)];

  it('early windows rev 1, 2, 3 then the final window give exactly what the final window alone gives', () => {
    const priorStats = statsJson(prior);
    const withEarly = run(prior, [...early, f5]);
    const alone = run(prior, [f5]);
    // Each early window is shown on top of the base statistics, which it never changes.
    withEarly.slice(0, 3).forEach((r, k) => {
      expect(r.applied).toBe(true);
      expect(r.persona.early).toBe(true);
      expect(r.persona.version).toBe(6 + k);
      expect(r.persona.windowsSeen).toBe(6);
      expect(r.persona.eventsSeen).toBe(prior.stats.events + (early[k] as W).eventCount);
      expect(statsJson(r.state)).toBe(priorStats);
      expect(r.state.overlay?.revision).toBe(k + 1);
    });
    const final = last(withEarly);
    expect(final.persona.version).toBe(9);
    expect(final.state.overlay).toBeUndefined();
    expect(statsJson(final.state)).toBe(statsJson(last(alone).state));
    expect(content(final)).toEqual(content(last(alone)));
    expect(final.persona.early).toBe(false);
    // The state that was handed in is untouched (pure by default).
    expect(statsJson(prior)).toBe(priorStats);
  });

  it('gives the same base statistics when the windows come in batches with statistics updated in place', () => {
    const alone = last(run(prior, [f5])).state;
    const copy = (): PersonaState => ({ ...prior, stats: JSON.parse(statsJson(prior)) });
    const a = applyWindowsInOrder({ state: copy(), erased: false, pending: new Map() }, early.slice(0, 2), backend, {
      inPlace: true,
    });
    expect(statsJson(a.state)).toBe(statsJson(prior));
    const b = applyWindowsInOrder({ state: a.state, erased: false, pending: new Map() }, [early[2] as W, f5], backend, {
      inPlace: true,
    });
    expect(b.steps.map((s) => s.status)).toEqual(['applied', 'applied']);
    expect(statsJson(b.state)).toBe(statsJson(alone));
  });

  it('treats a redelivered early window after the final, and a stale revision, as duplicates', () => {
    const steps = run(prior, [early[0] as W, early[2] as W, early[1] as W, early[2] as W, f5, early[1] as W, f5]);
    expect(steps.map((r) => r.applied)).toEqual([true, true, false, false, true, false, false]);
    const final = steps[4] as ApplyResult;
    expect(last(steps).state).toBe(final.state);
    expect(statsJson(final.state)).toBe(statsJson(last(run(prior, [f5])).state));
    // A redelivery of the whole prefix changes nothing.
    expect(run(final.state, [...early, f5, ...ws.slice(0, 5)]).every((r) => !r.applied)).toBe(true);
  });

  it('applies an early window of a newer seq after a final window, then its final window', () => {
    const f6 = win(6);
    const afterF5 = last(run(prior, [...early, f5])).state;
    const e6 = earlyOf(f6, 1, 0.5);
    const shown = run(afterF5, [e6]);
    expect(shown[0]?.applied).toBe(true);
    expect(shown[0]?.persona.early).toBe(true);
    expect(statsJson(shown[0]?.state)).toBe(statsJson(afterF5));
    const done = last(run(shown[0]?.state, [f6]));
    const finalsOnly = last(run(prior, [f5, f6]));
    expect(statsJson(done.state)).toBe(statsJson(finalsOnly.state));
    expect(content(done)).toEqual(content(finalsOnly));
  });

  it('keeps the overlay over a final window of another run (or an older session) and shows it on the new base', () => {
    const e6 = earlyOf(win(6), 1, 0.5);
    const replay = create(SemantizedWindowSchema, { ...win(7), runId: 'replay-1', seq: 0 });
    const steps = run(prior, [f5, e6, replay]);
    const overReplay = last(steps);
    expect(overReplay.applied).toBe(true);
    expect(overReplay.persona.early).toBe(true);
    expect(overReplay.state.overlay?.window).toBe(e6);
    // Base = prior + f5 + replay (no early events); shown = base ⊕ e6.
    const finals = last(run(prior, [f5, replay]));
    expect(statsJson(overReplay.state)).toBe(statsJson(finals.state));
    expect(overReplay.persona.windowsSeen).toBe(finals.persona.windowsSeen + 1);
    const done = last(run(overReplay.state, [win(6)]));
    expect(done.persona.early).toBe(false);
    expect(statsJson(done.state)).toBe(statsJson(last(run(prior, [f5, replay, win(6)])).state));
  });

  it('starts a persona from an early window alone (no base yet)', () => {
    const e0 = earlyOf(win(0), 1, 0.5);
    const [first] = run(undefined, [e0]);
    expect(first?.persona.version).toBe(1);
    expect(first?.persona.early).toBe(true);
    expect(first?.state.stats.windows).toBe(0);
    expect(first?.persona.windowsSeen).toBe(1);
    expect(content(last(run(first?.state, [win(0)])))).toEqual(content(last(run(undefined, [win(0)]))));
  });
});

describe('flipped dimensions', () => {
  it('are 0 for a first persona and count the dimensions whose values changed against the previous version', () => {
    const steps = run(undefined, [...ws.slice(0, 6), earlyOf(win(6), 1, 0.5), win(6)]);
    expect(steps[0]?.flipped).toBe(0);
    steps.slice(1).forEach((r, i) => {
      expect(r.flipped).toBe(flippedDimensions((steps[i] as ApplyResult).persona.tags, r.persona.tags));
    });
    expect(steps.some((r) => r.flipped > 0)).toBe(true);
    // A store may hand the previous tags' values instead of the persona (no decoding).
    const prev = steps[2] as ApplyResult;
    const viaShown = applyWindow({ ...prev.state, shownTags: [] }, win(3), backend, { nowMs: 5 });
    expect(viaShown.flipped).toBe(flippedDimensions([], viaShown.persona.tags));
  });
});

describe('applied-window bookkeeping', () => {
  const w = (runId: string, seq: number, provisional = false, revision = 0) =>
    create(SemantizedWindowSchema, { windowId: `${runId}-${seq}-${revision}`, runId, seq, provisional, revision });

  it('decides duplicates by seq per run and by (seq, revision) against the overlay', () => {
    let book = afterApply(undefined, w('live', 3));
    book = afterApply(book, w('live', 4, true, 2));
    const dup = (x: SemantizedWindow) => isDuplicateWindow(book, x);
    expect([dup(w('live', 3)), dup(w('live', 2)), dup(w('live', 3, true, 5))]).toEqual([true, true, true]);
    expect([dup(w('live', 4, true, 1)), dup(w('live', 4, true, 2)), dup(w('live', 4, true, 3))]).toEqual([
      true,
      true,
      false,
    ]);
    expect([dup(w('live', 4)), dup(w('live', 5, true, 1)), dup(w('live', 9))]).toEqual([false, false, false]);
    expect([dup(w('other', 0)), dup(w('other', 0, true, 1))]).toEqual([false, false]);
    // A final window of another run keeps the overlay (the same object); one of its run and seq ≥ clears it.
    expect(afterApply(book, w('other', 0)).overlay).toBe(book.overlay);
    expect(afterApply(book, w('live', 4)).overlay).toBeUndefined();
    expect(markOf(afterApply(book, w('live', 4)).runs, 'live')).toBe(4);
    expect(isDuplicateWindow(undefined, w('live', 0))).toBe(false);
  });

  it(`keeps the marks of the ${MAX_RUNS_KEPT} most recently used runs`, () => {
    let runs = withMark([], 'r0', 0);
    for (let i = 1; i <= MAX_RUNS_KEPT + 5; i++) runs = withMark(runs, `r${i}`, i);
    runs = withMark(runs, 'r10', 99); // used again: moves to the newest end
    expect(runs).toHaveLength(MAX_RUNS_KEPT);
    expect(markOf(runs, 'r0')).toBe(-1); // dropped: a window of it would be applied again
    expect(markOf(runs, 'r5')).toBe(-1);
    expect(markOf(runs, 'r6')).toBe(6);
    expect(markOf(runs, 'r10')).toBe(99);
    expect(runs[runs.length - 1]).toEqual(['r10', 99]);
  });

  it('round-trips through its stored text and refuses anything else', () => {
    const book = afterApply(afterApply(undefined, w('a', 1)), w('live', 2, true, 3));
    expect(decodeBookkeeping(encodeBookkeeping(book))).toEqual({ runs: [['a', 1]], overlay: ['live', 2, 3] });
    expect(decodeBookkeeping(encodeBookkeeping({ runs: [] }))).toEqual({ runs: [] });
    for (const bad of ['{}', '{"r":[["a"]]}', '{"r":[],"o":["a",1]}', '[]']) {
      expect(() => decodeBookkeeping(bad)).toThrow(/bookkeeping/);
    }
  });
});
