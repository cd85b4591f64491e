import { create } from '@bufbuild/protobuf';
import { ActionCountSchema, type DimensionSpec, dimensionSpec, SemantizedWindowSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { emptyStats, type FeatureStats, updateStats } from '../stats.js';
import { SYNTHETIC_DIMENSIONS, syntheticUsers } from '../synthetic.js';
import { BuiltinBackend } from './backend.js';
import { HISTORY_EVENTS, historyFactor, reliability, shrinkInPlace } from './reliability.js';
import { trainBuiltinModel } from './train.js';

const T0 = Date.UTC(2026, 0, 5, 12);
const knowsAll = () => true;

function stats(over: Partial<FeatureStats>): FeatureStats {
  return { ...emptyStats(), windows: 1, ...over };
}

describe('reliability (the shrinkage rule)', () => {
  it('grows with the history: α = 1 − exp(−events / 20) when every category is readable', () => {
    expect(HISTORY_EVENTS).toBe(20);
    expect(reliability(stats({ events: 0 }), knowsAll).alpha).toBe(0);
    expect(reliability(stats({ events: 20 }), knowsAll).alpha).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(reliability(stats({ events: 6 }), knowsAll).alpha).toBeCloseTo(0.2592, 4);
    expect(reliability(stats({ events: 100 }), knowsAll).alpha).toBeGreaterThan(0.99);
  });

  it('measures the history against the histories the model was trained on (meta.historyEvents)', () => {
    const curve = (n: number) => 1 - Math.exp(-n / HISTORY_EVENTS);
    // A model fitted on users with two or three short sessions (10th percentile 12 events) is not shrunk for
    // a user with 17 events; a user with 6 events keeps the ratio of the curves.
    expect(historyFactor(17, 12)).toBe(1);
    expect(historyFactor(6, 12)).toBeCloseTo(curve(6) / curve(12), 12);
    expect(reliability(stats({ events: 6 }), knowsAll, 12).alpha).toBeCloseTo(curve(6) / curve(12), 12);
    // No record (older model files): the absolute curve.
    expect(historyFactor(6)).toBeCloseTo(curve(6), 12);
    expect(historyFactor(6, 0)).toBeCloseTo(curve(6), 12);
    // A model fitted on months of history shrinks a short one almost as the absolute curve does.
    expect(historyFactor(6, 400)).toBeCloseTo(curve(6), 6);
  });

  it('falls with the share of unmapped engaged events and of categories the model does not know', () => {
    const cats = {
      Known: { n: 30, r: 0, p: 0, w: 1, t: 0, t2: 0, first: 0, last: 0, burst: 0, ids: [] },
      Foreign: { n: 10, r: 0, p: 0, w: 1, t: 0, t2: 0, first: 0, last: 0, burst: 0, ids: [] },
    };
    const long = 1e6; // history factor 1
    const r = reliability(
      stats({ events: long, actions: { view: 30, purchase: 10, search: 5 }, unmapped: 20, cats }),
      (c) => c === 'Known',
    );
    expect(r.unmapped).toBeCloseTo(0.5, 12); // 20 of 40 engaged
    expect(r.foreign).toBeCloseTo(0.25, 12); // 10 of 40 category actions
    expect(r.alpha).toBeCloseTo(1 - 0.25 - 0.125, 12);
    // Nothing readable: the prior only.
    const none = reliability(
      stats({ events: long, actions: { view: 5 }, unmapped: 5, cats: { Foreign: cats.Foreign } }),
      () => false,
    );
    expect(none.alpha).toBe(0);
  });

  it('shrinks toward the prior, or the fallback where the model has none; α = 1 changes nothing', () => {
    const p = Float64Array.from([0.9, 0.08, 0.02]);
    shrinkInPlace(p, 0.5, [0.2, 0.5, 0.3], 0);
    expect([...p].map((x) => Math.round(x * 1e6) / 1e6)).toEqual([0.55, 0.29, 0.16]);
    const q = Float64Array.from([0.9, 0.1]);
    shrinkInPlace(q, 0.25, undefined, 0.5);
    expect([...q]).toEqual([0.6, 0.4]);
    const r = Float64Array.from([0.9, 0.1]);
    shrinkInPlace(r, 1, [0.5, 0.5], 0.5);
    expect([...r]).toEqual([0.9, 0.1]);
  });
});

describe('the builtin backend with shrinkage', () => {
  const dims = SYNTHETIC_DIMENSIONS.map((d) => dimensionSpec(d) as DimensionSpec);
  const users = syntheticUsers({ users: 120, seed: 5 });
  const weights = trainBuiltinModel(
    users.map((u) => ({ id: u.userId, windows: u.windows, truth: u.truth })),
    { dimensions: dims, iterations: 80, lambdas: [0.1] },
  );

  it('stores class and label priors that are frequencies', () => {
    for (const m of Object.values(weights.single)) {
      expect(m.prior).toHaveLength(m.classes.length);
      expect((m.prior ?? []).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    }
    for (const m of Object.values(weights.multi)) {
      expect(m.prior).toHaveLength(m.labels.length);
      for (const x of m.prior ?? []) expect(x).toBeGreaterThanOrEqual(0);
    }
  });

  it('keeps the model’s values and shrinks their confidences by α toward the prior', () => {
    const shrunk = new BuiltinBackend(weights);
    const raw = new BuiltinBackend(weights, { shrink: false });
    const u = users[0] as (typeof users)[number];
    for (const n of [1, 3, u.windows.length]) {
      const s = emptyStats();
      for (const w of u.windows.slice(0, n)) updateStats(s, w);
      const alpha = shrunk.reliability(s).alpha;
      const a = shrunk.predictTags(s, dims);
      const b = raw.predictTags(s, dims);
      expect(a.map((t) => [t.dimension, t.value])).toEqual(b.map((t) => [t.dimension, t.value]));
      for (const [i, t] of a.entries()) {
        const r = b[i] as (typeof b)[number];
        const spec = dims.find((d) => d.name === t.dimension) as DimensionSpec;
        const m = spec.multiValued ? weights.multi[t.dimension] : weights.single[t.dimension];
        const values = spec.multiValued ? weights.multi[t.dimension]?.labels : weights.single[t.dimension]?.classes;
        const prior = m?.prior?.[(values ?? []).indexOf(t.value)] as number;
        expect(t.confidence).toBeCloseTo(prior + alpha * (r.confidence - prior), 3);
      }
    }
  });

  it('knows the categories of its training users, also one every user had (no feature of its own)', () => {
    const tops = new Set(
      users.flatMap((u) => u.windows.flatMap((w) => w.actions.map((a) => a.category.split(' > ')[0]))),
    );
    expect(weights.categories?.length).toBeGreaterThan(0);
    for (const c of weights.categories ?? []) expect(tops.has(c)).toBe(true);
    const everyone = stats({
      events: 1e6,
      cats: { Everyone: { n: 5, r: 0, p: 0, w: 1, t: 0, t2: 0, first: 0, last: 0, burst: 0, ids: [] } },
    });
    const constant = new BuiltinBackend({ ...weights, categories: ['Everyone'] });
    expect(constant.reliability(everyone).foreign).toBe(0);
    expect(new BuiltinBackend({ ...weights, categories: [] }).reliability(everyone).foreign).toBe(1);
  });

  it('a stranger with one short session in a catalogue the model never saw: no confidence above 0.95', () => {
    const backend = new BuiltinBackend(weights);
    const w = create(SemantizedWindowSchema, {
      windowId: 'w0',
      tenant: 't',
      userId: 'stranger',
      startMs: T0,
      endMs: T0 + 300_000,
      eventCount: 8,
      actions: [
        create(ActionCountSchema, { action: 'view', category: 'Unterhaltungselektronik > Kopfhörer', count: 6 }),
      ],
      interests: { tech: 6, music: 6 },
      devices: { desktop: 8 },
      hourHistogram: Array.from({ length: 24 }, (_, h) => (h === 12 ? 8 : 0)),
    });
    const s = updateStats(emptyStats(), w);
    const r = backend.reliability(s);
    expect(r.foreign).toBe(1);
    expect(weights.meta.historyEvents).toBeGreaterThan(3 * HISTORY_EVENTS); // synthetic users have long histories
    expect(r.alpha).toBeCloseTo(0.5 * historyFactor(8, weights.meta.historyEvents), 12);
    const raw = new BuiltinBackend(weights, { shrink: false }).predictTags(s, dims);
    expect(Math.max(...raw.map((t) => t.confidence))).toBeGreaterThan(0.95); // the model alone is near-certain
    for (const t of backend.predictTags(s, dims))
      expect(t.confidence, `${t.dimension}=${t.value}`).toBeLessThanOrEqual(0.95);
  });
});
